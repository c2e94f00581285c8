"""Bad input never answers 5xx: every entry of the corpus (tests/corpus/bad_input.json),
against every route the URL resolver knows, anonymously, with a login token and, for
portal pages, signed in.

Routes are read from the resolver, so a new route is covered the day it is added. A
route is a JSON route (the npm registry and the REST API) when its path has no trailing
slash or starts with `/api/`; each 4xx it gives must carry an `error` text, the one line
the npm CLI shows. Portal pages may answer 4xx in their own way (a page, a redirect with
a message), never 5xx.

Every request runs in a savepoint that is rolled back, so the world stays as built and an
entry that happens to succeed (a logout, a publish) changes nothing for the next one.
"""

import base64
import json
import re
from http.cookies import SimpleCookie
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import UUIDConverter
from django.urls.resolvers import RegexPattern

from tests.conftest import PASSWORD, issue_token, make_user
from tests.packages import publish_body
from tests.registry.helpers import publish, write
from tests.worlds import world_built_once

pytestmark = pytest.mark.django_db

CORPUS = json.loads((Path(__file__).parent / "corpus" / "bad_input.json").read_text())
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# What each path parameter is in the world below, by its name in the URL patterns.
SAMPLES = {
    "name": "pub",
    "package": "pub",
    "org": "acme",
    "team": "developers",
    "tag": "next",
    "filename": "pub-1.0.0.tgz",
    "username": "alice",
    "token": "x",
    "ident": "x",
    "secret": "abc",
    "uidb64": "MQ",
    "device_id": "1",
    "kind": "totp",
    "verb": "approve",
    "challenge_id": "0" * 32,
    "invitation_id": "0" * 32,
}
SAMPLE_UUID = "00000000-0000-0000-0000-000000000000"


# The corpus ---------------------------------------------------------------------------------


def _text(spec) -> str:
    """A corpus string: as written, or built from `repeat`, `concat`, `nest` or `json`."""
    if isinstance(spec, str):
        return spec
    if "repeat" in spec:
        return spec["repeat"] * spec["times"]
    if "concat" in spec:
        return "".join(_text(part) for part in spec["concat"])
    if "nest" in spec:
        nest = spec["nest"]
        return nest["open"] * nest["depth"] + nest.get("core", "") + nest["close"] * nest["depth"]
    if "json" in spec:
        return _text(spec["json"])
    raise ValueError(f"unknown corpus value {spec!r}")


def _json_text(spec) -> str:
    """A field's value as JSON text: strings are quoted, `json` and `nest` are raw JSON."""
    if isinstance(spec, dict) and ("json" in spec or "nest" in spec):
        return _text(spec)
    return json.dumps(_text(spec))


def _json_body(entry: dict) -> bytes:
    if "base64" in entry:
        return base64.b64decode(entry["base64"])
    if "fields" in entry:
        value = _json_text(entry["fields"])
        pairs = (f"{json.dumps(key)}: {value}" for key in CORPUS["body_keys"])
        return ("{" + ", ".join(pairs) + "}").encode()
    return _text(entry.get("text", entry)).encode("utf-8", "surrogatepass")


def _form_body(entry: dict) -> str:
    value = entry["raw"] if "raw" in entry else quote(_text(entry["value"]), safe="")
    return "&".join(f"{quote(key, safe='')}={value}" for key in CORPUS["body_keys"])


def _ids(section: str) -> list:
    return [pytest.param(entry, id=entry["id"]) for entry in CORPUS[section]]


# The routes ---------------------------------------------------------------------------------


class Route(NamedTuple):
    template: str  # "/-/package/{name}/dist-tags/{tag}"
    params: tuple[str, ...]
    methods: tuple[str, ...]
    samples: dict  # values that fit this route's converters (a UUID where it takes one)

    @property
    def json(self) -> bool:
        return _json_route(self.template)

    @property
    def personas(self) -> tuple[str, ...]:
        """Registry routes read tokens, portal pages sessions."""
        return ("anonymous", "token") if self.json else ("anonymous", "session")

    def path(self, values: dict) -> str:
        return self.template.format_map({**SAMPLES, **self.samples, **values})


_GROUP = re.compile(r"\(\?P<(\w+)>")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _regex_template(regex: str) -> str:
    """`^-/stage/(?P<stage_id>[^/]+)$` -> `-/stage/{stage_id}`."""
    out, i = [], 0
    regex = regex.removeprefix("^").removesuffix("$")
    while match := _GROUP.search(regex, i):
        out.append(regex[i : match.start()])
        depth, j = 1, match.end()
        while depth:
            if regex[j] == "\\":
                j += 1
            elif regex[j] == "(":
                depth += 1
            elif regex[j] == ")":
                depth -= 1
            j += 1
        out.append("{" + match[1] + "}")
        i = j
    out.append(regex[i:])
    return "".join(out).replace("\\", "")


def _template(pattern) -> str:
    if isinstance(pattern.pattern, RegexPattern):
        return _regex_template(str(pattern.pattern))
    return _CONVERTER.sub(r"{\1}", str(pattern.pattern))


def _methods(callback, template: str) -> tuple[str, ...]:
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is not None:
        return tuple(
            m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)
        )
    # A function view: a portal page reads and posts forms; a registry one may take anything.
    return ("GET", *WRITE_METHODS) if _json_route(template) else ("GET", "POST")


def _json_route(template: str) -> bool:
    return not template.endswith("/") or template.startswith("/api/")


def _uuid_samples(pattern) -> dict:
    converters = getattr(pattern.pattern, "converters", {})
    return {name: SAMPLE_UUID for name, c in converters.items() if isinstance(c, UUIDConverter)}


def _walk(patterns, prefix: str = "", samples: dict | None = None):
    for pattern in patterns:
        template = prefix + _template(pattern)
        found = {**(samples or {}), **_uuid_samples(pattern)}
        if isinstance(pattern, URLResolver):
            if not template.startswith("admin/"):  # Django's own admin
                yield from _walk(pattern.url_patterns, template, found)
        elif isinstance(pattern, URLPattern):
            params = tuple(re.findall(r"\{(\w+)\}", template))
            template = "/" + template
            yield Route(template, params, _methods(pattern.callback, template), found)


def routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


# The world ----------------------------------------------------------------------------------


def _ok(response):
    assert response.status_code in (200, 201), response.content
    return response


def _build(http: Client) -> dict:
    alice = make_user("alice")
    token = issue_token(alice)
    _ok(publish(http, token, "pub", "1.0.0"))
    _ok(write(http, "put", "/-/package/pub/dist-tags/next", token, "1.0.0"))
    # An org for the org routes to find; if creating one asks for more (a second factor),
    # those routes are still exercised, on a name that does not exist.
    write(http, "post", "/api/v1/orgs/", token, {"name": "acme"})
    _ok(publish(http, token, "@acme/lib", "1.0.0"))
    staged = _ok(write(http, "post", "/-/stage/package/pub", token, publish_body("pub", "1.1.0")))
    login = _ok(write(http, "post", "/-/v1/login", token, {})).json()
    rev = _ok(http.get("/pub")).json()["_rev"]
    values = {
        "stage_id": staged.json()["id"],
        "login_id": login["loginUrl"].rstrip("/").rsplit("/", 1)[1],
        "rev": rev,
    }
    http.force_login(alice)
    session = http.cookies[django_settings.SESSION_COOKIE_NAME].value
    return {"token": token, "session": session, "values": values}


@pytest.fixture(scope="module")
def http() -> Client:
    """One client for every request: a 500 is an answer here, not an exception."""
    return Client(raise_request_exception=False)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, http, tmp_path_factory):
    with world_built_once(django_db_blocker, tmp_path_factory) as storages:
        yield {**_build(http), "storages": storages, "routes": routes()}


@pytest.fixture(autouse=True)
def _world_tarballs(settings, world):
    settings.STORAGES = world["storages"]


# Sending ------------------------------------------------------------------------------------


class Request(NamedTuple):
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict | None = None


def _send(http: Client, world: dict, persona: str, request: Request):
    http.cookies = SimpleCookie()
    if persona == "session":
        http.cookies[django_settings.SESSION_COOKIE_NAME] = world["session"]
    headers = dict(request.headers or {})
    if persona == "token":
        headers.setdefault("Authorization", f"Bearer {world['token']}")
    content_type = headers.pop("Content-Type", request.content_type)
    with transaction.atomic():
        response = http.generic(
            request.method,
            request.path,
            data=request.body,
            content_type=content_type,
            headers=headers,
        )
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response, body


def _problem(route: Route, response, body: bytes) -> str | None:
    status = response.status_code
    if status >= 500:
        exc = (getattr(response, "exc_info", None) or (None, None))[1]
        return f"{status}: {type(exc).__name__}: {str(exc)[:200]}" if exc else f"{status}"
    if route.json and 400 <= status < 500:
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            error = None
        if not isinstance(error, str) or not error:
            return f"{status} without a JSON error: {body[:300]!r}"
    return None


def _check(http, world, requests) -> None:
    """Send each (route, request) as each persona it concerns; fail listing every problem,
    once per route, method and kind of answer."""
    cache.clear()  # rate limits from earlier entries
    problems: dict[str, str] = {}
    for route, request in requests:
        for persona in route.personas:
            response, body = _send(http, world, persona, request)
            problem = _problem(route, response, body)
            if problem:
                key = f"{request.method} {route.template} {problem[:3]}"
                problems.setdefault(
                    key, f"{request.method} {_short(request.path)} as {persona}: {problem}"
                )
    assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems.values())


def _short(path: str) -> str:
    return path if len(path) < 120 else path[:120] + "…"


# The tests ----------------------------------------------------------------------------------


def test_every_route_has_a_template_that_resolves_back_to_it(world):
    for route in world["routes"]:
        path = route.path(world["values"])
        assert resolve(path.split("?")[0]).route is not None, route.template


@pytest.mark.parametrize("entry", _ids("path_values"))
def test_bad_path_parameters(http, world, entry):
    bad = _text(entry["raw"])
    requests = []
    for route in world["routes"]:
        for param in route.params:
            path = route.path({**world["values"], param: bad})
            requests += [(route, Request(method, path)) for method in route.methods]
    _check(http, world, requests)


@pytest.mark.parametrize("entry", _ids("query_values"))
def test_bad_query_values(http, world, entry):
    value = _text(entry["raw"])
    query = "&".join(f"{key}={value}" for key in CORPUS["query_keys"])
    _check(
        http,
        world,
        [
            (route, Request(method, f"{route.path(world['values'])}?{query}"))
            for route in world["routes"]
            for method in route.methods
        ],
    )


@pytest.mark.parametrize("entry", _ids("queries"))
def test_odd_queries(http, world, entry):
    query = _text(entry["raw"])
    _check(
        http,
        world,
        [
            (route, Request(method, f"{route.path(world['values'])}?{query}"))
            for route in world["routes"]
            for method in route.methods
        ],
    )


@pytest.mark.parametrize("entry", _ids("json_bodies"))
def test_bad_json_bodies(http, world, entry):
    body = _json_body(entry)
    _check(
        http,
        world,
        [
            (route, Request(method, route.path(world["values"]), body))
            for route in world["routes"]
            for method in route.methods
            if method in WRITE_METHODS
        ],
    )


@pytest.mark.parametrize("entry", _ids("form_bodies"))
def test_bad_form_bodies(http, world, entry):
    body = _form_body(entry).encode()
    form = "application/x-www-form-urlencoded"
    _check(
        http,
        world,
        [
            (route, Request("POST", route.path(world["values"]), body, form))
            for route in world["routes"]
            if "POST" in route.methods
        ],
    )


@pytest.mark.parametrize("entry", _ids("headers"))
def test_bad_headers(http, world, entry):
    headers = {name: _text(value) for name, value in entry["headers"].items()}
    body = _text(entry.get("body", "")).encode()
    _check(
        http,
        world,
        [
            (route, Request(method, route.path(world["values"]), body, headers=headers))
            for route in world["routes"]
            for method in route.methods
        ],
    )


# What the npm user reads ------------------------------------------------------------------


def _error(response) -> str:
    return response.json()["error"]


def test_a_nul_byte_is_refused_before_any_lookup(http, world):
    http.cookies = SimpleCookie()
    packument = http.get("/pub%00")  # the install fast path's shape
    tarball = http.get("/pub/-/pub%00-1.0.0.tgz")
    query = http.get("/-/v1/search?text=%00")
    page = http.get("/package/pub%00/")

    for response in (packument, tarball, query):
        assert response.status_code == 400
        assert _error(response).startswith("The request has a NUL byte (%00) in its path or query")
    assert page.status_code == 400
    assert b"NUL byte" in page.content and page["Content-Type"].startswith("text/html")


def test_deeply_nested_json_is_a_400_that_says_so(http, world):
    for depth in (100_000, 65):
        response = http.put(
            "/-/package/pub/dist-tags/next",
            data="[" * depth + "]" * depth,
            content_type="application/json",
            headers={"Authorization": f"Bearer {world['token']}"},
        )
        assert response.status_code == 400
        assert _error(response) == (
            "The request body is refused: it nests deeper than 64 levels. Send what the npm "
            "CLI sends, or fix the value and try again."
        )


def test_a_nul_character_in_a_json_string_is_refused(http, world):
    response = http.put(
        "/-/package/pub/dist-tags/next",
        data='"1.0.0\\u0000"',
        content_type="application/json",
        headers={"Authorization": f"Bearer {world['token']}"},
    )

    assert response.status_code == 400
    assert "holds a NUL character" in _error(response)


def test_a_dist_tag_longer_than_a_package_name_is_refused(http, world):
    tag = "t" * 215
    response = http.put(
        f"/-/package/pub/dist-tags/{tag}",
        data='"1.0.0"',
        content_type="application/json",
        headers={"Authorization": f"Bearer {world['token']}"},
    )

    assert response.status_code == 400
    assert "tags may be at most 214 characters long (this one has 215)" in _error(response)


def test_a_huge_page_number_is_an_empty_page(http, world):
    response = http.get(
        "/-/stage?page=99999999999999999999999&perPage=100",
        headers={"Authorization": f"Bearer {world['token']}"},
    )

    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "accounts", "accounts:security", "/a\r\nb"],
)
def test_after_signing_in_an_odd_next_goes_to_my_packages(http, world, target):
    http.cookies = SimpleCookie()
    with transaction.atomic():
        response = http.post(
            "/account/login/?" + urlencode({"next": target}),
            {"username": "alice", "password": PASSWORD},
        )
        transaction.set_rollback(True)

    assert response.status_code == 302
    assert response["Location"] == "/account/packages/"
