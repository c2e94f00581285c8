"""Where does a Gatehouse packument GET spend its time? In-process, no HTTP, no gunicorn.

Run with Gatehouse's own interpreter against the bench database (the same environment
bench/serve_gatehouse.sh uses), after a bench run has published packages:

    .venv/bin/python bench/profile_gatehouse.py PACKAGE [--token-file bench/work/gatehouse.token]

It times the same request peeled layer by layer, so the differences are the cost of each
layer:

    wsgi        the whole Django stack: WSGIHandler, middleware, URL resolving, view
    view        the view function alone (packument_get with a prepared request)
    orm         the one ORM query the view makes
    sql         the same SQL through a raw cursor
    resolve     URL resolving alone

then profiles the `wsgi` case with cProfile and sums own time per package (django.db,
django.middleware, psycopg, csp, ...). Nothing here changes Gatehouse.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The environment of bench/serve_gatehouse.sh (production settings, bench database).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gatehouse_bench")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-0123456789abcdefghijklmnop")
os.environ.setdefault("GATEHOUSE_URL", "http://127.0.0.1:18100/")
os.environ.setdefault("GATEHOUSE_WEBAUTHN_ORIGINS", "http://localhost:18100")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("GATEHOUSE_VAR_DIR", str(ROOT / "bench" / "work" / "gatehouse-var"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402

from registry.api.reads import packument_get  # noqa: E402
from registry.models import Packument  # noqa: E402

CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def environ_for(path: str, accept: str, token: str | None) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "18100",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:18100",
        "HTTP_ACCEPT": accept,
        "HTTP_USER_AGENT": "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


def per_call_us(fn, n: int) -> float:
    for _ in range(min(200, n)):  # warm caches and the DB connection
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def group_of(filename: str) -> str:
    """Attribute a profiled function to the library it lives in."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        parts = path.split("site-packages/", 1)[1].split("/")
        if parts[0] == "django" and len(parts) > 2:
            return f"django.{parts[1]}" if parts[1] != "contrib" else f"django.contrib.{parts[2]}"
        return parts[0]
    if path.startswith(str(ROOT)):
        rel = Path(path).relative_to(ROOT).parts
        return f"gatehouse:{rel[0]}" if rel else "gatehouse"
    if path.startswith("~") or path.startswith("<"):
        return "builtins (C)"
    return "python stdlib"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package")
    parser.add_argument("-n", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--full", action="store_true", help="the full document instead of corgi")
    parser.add_argument("--token-file", help="send this Bearer token (as npm does when logged in)")
    parser.add_argument("--tarball", help="profile GET /<package>/-/<TARBALL> instead (wsgi only)")
    args = parser.parse_args()

    token = Path(args.token_file).read_text().strip() if args.token_file else None
    accept = "application/json" if args.full else CORGI
    name = args.package
    path = "/" + name  # what Django sees: WSGI has already decoded /@scope%2fname
    if args.tarball:
        path += f"/-/{args.tarball}"
        accept = "*/*"
    app = WSGIHandler()
    environ = environ_for(path, accept, token)

    def call_wsgi():
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(b"")
        status = []
        result = app(env, lambda s, h, *a: status.append(s))
        body = b"".join(result)
        result.close()  # as a WSGI server does: closes files, sends request_finished
        if not status[0].startswith("200"):
            raise SystemExit(f"{path}: {status[0]} {body[:200]!r}")
        return body

    body = call_wsgi()
    factory = RequestFactory()
    extra = {"HTTP_ACCEPT": accept}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def call_view():
        return packument_get(factory.get(path, **extra), name)

    columns = ("abbreviated", "abbreviated_etag") if not args.full else ("full", "full_etag")

    def call_orm():
        return (
            Packument.objects.filter(name=name)
            .values_list("package_id", "restricted", "unpublished_at", *columns)
            .first()
        )

    # The SQL the ORM sends, minus `.first()`'s ORDER BY (the name is unique anyway).
    # ("full" is a reserved word in PostgreSQL, hence the quotes.)
    sql = (
        'SELECT package_id, restricted, unpublished_at, "full", full_etag '
        if args.full
        else "SELECT package_id, restricted, unpublished_at, abbreviated, abbreviated_etag "
    ) + "FROM registry_packument WHERE name = %s LIMIT 1"

    def call_sql():
        with connection.cursor() as cursor:
            cursor.execute(sql, [name])
            return cursor.fetchone()

    def call_resolve():
        return resolve(path)

    what = "tarball" if args.tarball else ("full document" if args.full else "corgi document")
    print(
        f"GET {path}: {what}, {len(body)} bytes, {'with' if token else 'without'} a token, n={args.n}"
    )
    if args.tarball:
        print(f"  wsgi     {per_call_us(call_wsgi, args.n):8.1f} µs/request")
    else:
        timings = {
            "wsgi": per_call_us(call_wsgi, args.n),
            "view": per_call_us(call_view, args.n),
            "orm": per_call_us(call_orm, args.n),
            "sql": per_call_us(call_sql, args.n),
            "resolve": per_call_us(call_resolve, args.n),
        }
        for key, value in timings.items():
            print(f"  {key:<8} {value:8.1f} µs/request")
        if timings["wsgi"] < timings["view"]:
            # Gatehouse's in-process read cache answered the WSGI calls; the view, ORM and
            # SQL lines are what a cache miss costs.
            print("  => wsgi was answered from the read cache; view/orm/sql are the miss path")
        else:
            print(
                f"  => middleware + handler + resolving ~{timings['wsgi'] - timings['view']:.0f} µs, "
                f"view beyond its query ~{timings['view'] - timings['orm']:.0f} µs, "
                f"ORM beyond raw SQL ~{timings['orm'] - timings['sql']:.0f} µs, "
                f"SQL round trip ~{timings['sql']:.0f} µs"
            )

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        call_wsgi()
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_group: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        by_group[group_of(filename)] += tottime
        total += tottime
    print(
        "\nown time by library (cProfile, whole WSGI call; profiling inflates Python-heavy parts):"
    )
    for group, seconds in sorted(by_group.items(), key=lambda item: -item[1])[:15]:
        print(
            f"  {group:<32} {seconds / total * 100:5.1f}%  {seconds / args.n * 1e6:7.1f} µs/request"
        )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    print("\ncumulative, top 35:")
    print("\n".join(out.getvalue().splitlines()[6:]))


if __name__ == "__main__":
    main()
