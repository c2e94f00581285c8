"""No portal URL may shadow a registry route for any valid package name."""

import string

from django.urls import get_resolver, resolve
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.api.reads import tarball_get
from registry.api.writes import PackageRevisionWrite
from registry.names import is_valid_name
from registry.npm_urls import package_document

NAME_CHARS = string.ascii_lowercase + string.digits + "-._~"
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=40).filter(is_valid_name)


# Where npm protocol views live: their routes are the registry's, not portal pages.
NPM_MODULES = ("registry.api", "registry.orgs.api", "registry.npm_urls", "accounts.api")
PORTAL_WORDS = ["account", "package", "admin", "static", "orgs", "staging", "login", "favicon.ico"]


@settings(max_examples=300, deadline=None)
@given(name=names, scope=names)
def test_every_valid_name_reaches_the_registry(name, scope):
    assert resolve(f"/{name}").func is package_document
    assert resolve(f"/{name}/-/{name}-1.0.0.tgz").func is tarball_get
    assert resolve(f"/{name}/-rev/3-abc").func.view_class is PackageRevisionWrite
    if is_valid_name(f"@{scope}/{name}"):
        assert resolve(f"/@{scope}/{name}").func is package_document
        assert resolve(f"/@{scope}/{name}/-/{name}-1.0.0.tgz").func is tarball_get


def test_names_that_look_like_portal_paths_still_reach_the_registry():
    for word in PORTAL_WORDS:
        if is_valid_name(word):
            assert resolve(f"/{word}").func is package_document
            assert resolve(f"/{word}/-/{word}-1.0.0.tgz").func is tarball_get


def test_portal_pages_are_never_a_single_segment():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, text)
            else:
                yield text, pattern

    for text, pattern in walk(get_resolver().url_patterns):
        module = pattern.callback.__module__
        if module.startswith(NPM_MODULES):
            continue
        cleaned = text.lstrip("^").rstrip("$")
        if cleaned == "":
            continue  # the home page: "/" is no package name
        assert "/" in cleaned.rstrip("/") or cleaned.endswith("/"), f"{text} could shadow a package"
