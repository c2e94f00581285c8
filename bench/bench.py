#!/usr/bin/env python3
"""Side-by-side benchmark of npm registries: Gatehouse, Verdaccio, or any other.

One run against one registry (given its URL and a token with publish rights):

1. generate a deterministic (seeded) set of packages under bench/work/pkgs/, ~30% of
   them scoped, each with 0-4 dependencies on earlier ones and a few KB of files;
2. publish them with the real npm CLI (a small pool), timing every `npm publish`;
3. time direct publish PUTs (prebuilt bodies, one keep-alive connection) to get the
   server-side latency without npm's ~0.5 s of process start-up;
4. publish one package with many versions (direct PUTs) and one with a single version;
5. cold `npm install` of a project depending on 50 of the packages (empty cache, no
   lockfile, --prefer-online), repeated;
6. wrk against the abbreviated packument, the full packument and a tarball, anonymous
   (when the registry allows it) and with the token, at several concurrencies; then the
   1-version vs many-versions packuments and a restricted package.

Results go to a JSON file and a table; `bench.py compare a.json b.json` puts runs side by
side. `bench.py login` gets a token the way `npm adduser --auth-type=legacy` does.

Only the standard library is used, so the script runs with any Python 3.11+. The load
generator is wrk (https://github.com/wg/wrk; Debian/Ubuntu: `apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import gzip
import hashlib
import http.client
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / "work"

# The Accept headers npm 11 sends (npm-protocol.md §1.2): corgi for the abbreviated
# document, plain JSON for the full one (which `npm install` itself asks for, §4.1).
ACCEPT_CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
ACCEPT_FULL = "application/json"
USER_AGENT = "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false gatehouse-bench"

WORDS = [
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kelp", "lumen", "maple", "nectar", "opal", "pebble", "quartz", "raven", "sable", "thistle",
    "umber", "vapor", "willow", "xenon", "yarrow", "zephyr", "acorn", "basil", "cobalt", "dune",
]  # fmt: skip

# wrk prints its own summary; this script makes it also print one JSON line we can parse.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; enough for tens of samples."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
    }


# --------------------------------------------------------------------------------------
# HTTP: a tiny keep-alive client, so publish PUT timings are the server's, not TCP setup's
# --------------------------------------------------------------------------------------


class Registry:
    def __init__(self, url: str, token: str | None):
        if not url.endswith("/"):
            url += "/"
        self.url = url
        self.parts = urllib.parse.urlsplit(url)
        if self.parts.scheme not in ("http", "https"):
            raise SystemExit(f"--registry must be an http(s) URL, not {url!r}")
        self.token = token
        self._conn: http.client.HTTPConnection | None = None

    @property
    def nerf_dart(self) -> str:
        """The npmrc credential key npm looks up for this registry (§1.3)."""
        return f"//{self.parts.netloc}{self.parts.path}"

    def path_for(self, name: str) -> str:
        """npm escapes the scope's slash in packument URLs: /@scope%2fname (§1.1)."""
        return self.parts.path + name.replace("/", "%2f")

    def absolute(self, path: str) -> str:
        return f"{self.parts.scheme}://{self.parts.netloc}{path}"

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.parts.hostname, self.parts.port, timeout=120)
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict | None = None,
        auth: bool = True,
    ) -> tuple[int, dict, bytes]:
        all_headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if auth and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        # One retry on a dropped keep-alive connection (a server may close idle ones).
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=all_headers)
                response = conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------------------
# Package generation: deterministic for a seed, so two registries get identical work
# --------------------------------------------------------------------------------------


@dataclass
class Pkg:
    index: int
    name: str
    deps: list[str] = field(default_factory=list)
    version: str = "1.0.0"

    @property
    def scoped(self) -> bool:
        return self.name.startswith("@")


def filler(rng: random.Random, size: int, comment: str = "//") -> str:
    """Source-like text of about `size` bytes: compresses like real code (~3-4x)."""
    lines, total = [], 0
    while total < size:
        a, b = rng.sample(WORDS, 2)
        n = rng.randrange(1000)
        line = (
            f"function {a}_{b}_{n}(x, y) {{ return x * {rng.randrange(97)} + y; }} "
            f"{comment} {' '.join(rng.choices(WORDS, k=rng.randrange(3, 9)))}"
        )
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def generate_graph(count: int, roots: int, scope: str, prefix: str, seed: int) -> list[Pkg]:
    """`count` packages; each depends on 0-4 earlier ones.

    Dependencies are drawn first from packages nobody depends on yet, and any left over
    at the end are given to the last `roots` packages. So every package is reachable from
    those roots, and a project depending on them installs the whole set (~count packages).
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    pkgs: list[Pkg] = []
    orphans: list[str] = []  # names with no dependent yet
    for i in range(count):
        base = f"{prefix}-{WORDS[i % len(WORDS)]}-{i:03d}"
        name = f"@{scope}/{base}" if rng.random() < 0.3 else base
        pkg = Pkg(i, name)
        wanted = min(rng.choice((0, 1, 1, 2, 2, 3, 4)), i)
        picks = rng.sample(orphans, min(wanted, len(orphans)))
        others = [p.name for p in pkgs if p.name not in picks]
        picks += rng.sample(others, min(wanted - len(picks), len(others)))
        pkg.deps = sorted(picks)
        for dep in picks:
            if dep in orphans:
                orphans.remove(dep)
        pkgs.append(pkg)
        orphans.append(name)
    root_pkgs = pkgs[-roots:]
    root_names = {p.name for p in root_pkgs}
    for dep in orphans:
        if dep not in root_names:
            holder = rng.choice([p for p in root_pkgs if p.index > pkgs_index(pkgs, dep)])
            holder.deps = sorted({*holder.deps, dep})
    return pkgs


def pkgs_index(pkgs: list[Pkg], name: str) -> int:
    return next(p.index for p in pkgs if p.name == name)


def closure(pkgs: list[Pkg], roots: list[Pkg]) -> set[str]:
    by_name = {p.name: p for p in pkgs}
    seen: set[str] = set()
    stack = [r.name for r in roots]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(by_name[name].deps)
    return seen


def package_json(pkg: Pkg, description: str) -> dict:
    return {
        "name": pkg.name,
        "version": pkg.version,
        "description": description,
        "main": "index.js",
        "license": "MIT",
        "keywords": ["gatehouse-bench"],
        "dependencies": {dep: "^1.0.0" for dep in pkg.deps},
    }


def write_packages(pkgs: list[Pkg], root: Path, seed: int) -> None:
    """Each package: package.json, README.md, index.js and lib/util.js, 3-10 KB in all."""
    for pkg in pkgs:
        rng = random.Random(f"{seed}-{pkg.index}")  # noqa: S311
        folder = root / f"{pkg.index:03d}"
        (folder / "lib").mkdir(parents=True, exist_ok=True)
        manifest = package_json(
            pkg, f"Benchmark package {pkg.index} ({' '.join(rng.sample(WORDS, 3))})"
        )
        (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (folder / "README.md").write_text(
            f"# {pkg.name}\n\n" + filler(rng, rng.randrange(500, 1500), "-")
        )
        requires = "".join(f"require({dep!r});\n" for dep in pkg.deps)
        (folder / "index.js").write_text(requires + filler(rng, rng.randrange(1500, 5000)))
        (folder / "lib" / "util.js").write_text(filler(rng, rng.randrange(500, 3000)))


def tarball_bytes(files: dict[str, bytes]) -> bytes:
    """A gzip'd tar as `npm pack` makes it: everything under package/, fixed mtimes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"package/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 499162500  # npm's 1985 epoch
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def publish_body(
    registry: Registry,
    name: str,
    version: str,
    access: str | None = "public",
    deps: dict | None = None,
    extra: bytes = b"",
) -> bytes:
    """A PUT body shaped like npm 11's (npm-protocol.md §5), tarball included."""
    manifest = {
        "name": name,
        "version": version,
        "description": "Direct-PUT benchmark package",
        "main": "index.js",
        "license": "MIT",
        "dependencies": deps or {},
    }
    tgz = tarball_bytes(
        {
            "package.json": json.dumps(manifest, indent=2).encode(),
            "index.js": b"module.exports = function () { return 42; };\n" + extra,
        }
    )
    filename = f"{name}-{version}.tgz"
    body = {
        "_id": name,
        "name": name,
        "description": manifest["description"],
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                **manifest,
                "readme": "ERROR: No README data found!",
                "_id": f"{name}@{version}",
                "_nodeVersion": "20.20.2",
                "_npmVersion": "11.19.1",
                "dist": {
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
                    "shasum": hashlib.sha1(tgz).hexdigest(),  # noqa: S324 (npm's format)
                    "tarball": f"{registry.url}{name}/-/{filename}",
                },
            }
        },
        "access": access,
        "_attachments": {
            filename: {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tgz).decode(),
                "length": len(tgz),
            }
        },
    }
    return json.dumps(body).encode()


def put_versions(
    registry: Registry,
    name: str,
    versions: list[str],
    access: str | None = "public",
    label: str = "",
) -> list[float]:
    """PUT each version in order over one connection; returns the seconds each took.

    Bodies are built before the clock starts, so only the round trip is timed.
    """
    bodies = [publish_body(registry, name, v, access, extra=f"// {v}\n".encode()) for v in versions]
    timings = []
    headers = {"npm-command": "publish", "Accept": "*/*"}
    for version, body in zip(versions, bodies, strict=True):
        start = time.perf_counter()
        status, _, data = registry.request("PUT", registry.path_for(name), body, headers)
        elapsed = time.perf_counter() - start
        if status >= 300:
            raise SystemExit(f"PUT {name}@{version} failed: {status} {data[:300]!r}")
        timings.append(elapsed)
    if label:
        log(
            f"{label}: {len(versions)} PUTs of {name}, median {statistics.median(timings) * 1000:.1f} ms"
        )
    return timings


# --------------------------------------------------------------------------------------
# The npm CLI, isolated from the user's own config (npm-protocol.md §25)
# --------------------------------------------------------------------------------------


def npm_env(registry: Registry, home: Path, cache: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    npmrc = home / ".npmrc"
    lines = [f"registry={registry.url}"]
    if registry.token:
        lines.append(f"{registry.nerf_dart}:_authToken={registry.token}")
    npmrc.write_text("\n".join(lines) + "\n")
    globalrc = home / "globalnpmrc"
    globalrc.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(
        {
            "HOME": str(home),
            "npm_config_userconfig": str(npmrc),
            "npm_config_globalconfig": str(globalrc),
            "npm_config_cache": str(cache),
            "npm_config_registry": registry.url,
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            # Fail fast: a 5xx under load should show up as an error, not as a 70 s retry (§1.6).
            "npm_config_fetch_retries": "0",
            "NO_COLOR": "1",
        }
    )
    return env


def npm_publish_all(
    registry: Registry, pkgs: list[Pkg], folder: Path, jobs: int, label: str
) -> dict:
    env = npm_env(registry, WORK / f"npm-home-{label}", WORK / f"npm-cache-publish-{label}")

    def publish(pkg: Pkg) -> float:
        start = time.perf_counter()
        result = subprocess.run(
            [
                "npm",
                "publish",
                str(folder / f"{pkg.index:03d}"),
                "--access",
                "public",
                "--ignore-scripts",
                "--loglevel=warn",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"npm publish {pkg.name} failed:\n{result.stderr[-2000:]}")
        return elapsed

    log(f"publishing {len(pkgs)} packages with npm ({jobs} at a time)")
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        timings = list(pool.map(publish, pkgs))
    wall = time.perf_counter() - start
    log(f"published in {wall:.1f} s")
    return {"jobs": jobs, "wall_s": round(wall, 2), **summary_ms(timings)}


def npm_cold_installs(
    registry: Registry, pkgs: list[Pkg], roots: list[Pkg], runs: int, label: str
) -> dict:
    project = WORK / f"project-{label}"
    cache = WORK / f"npm-cache-install-{label}"
    env = npm_env(registry, WORK / f"npm-home-{label}", cache)
    project.mkdir(parents=True, exist_ok=True)
    (project / "package.json").write_text(
        json.dumps(
            {
                "name": "bench-project",
                "version": "1.0.0",
                "private": True,
                "dependencies": {r.name: "^1.0.0" for r in roots},
            },
            indent=2,
        )
        + "\n"
    )
    expected = len(closure(pkgs, roots))
    timings, installed = [], 0
    for run in range(1, runs + 1):
        # Cold: no node_modules, no lockfile, no npm cache.
        for stale in (project / "node_modules", cache):
            shutil.rmtree(stale, ignore_errors=True)
        (project / "package-lock.json").unlink(missing_ok=True)
        start = time.perf_counter()
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--prefer-online", "--no-fund", "--loglevel=warn"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"npm install failed:\n{result.stderr[-3000:]}")
        lock = json.loads((project / "package-lock.json").read_text())
        installed = sum(1 for key in lock.get("packages", {}) if key.startswith("node_modules/"))
        timings.append(elapsed)
        log(f"cold install {run}/{runs}: {elapsed:.2f} s, {installed} packages")
    if installed != expected:
        log(f"warning: installed {installed} packages, expected {expected}")
    return {
        "runs_s": [round(t, 3) for t in timings],
        "min_s": round(min(timings), 3),
        "median_s": round(statistics.median(timings), 3),
        "direct_deps": len(roots),
        "packages_installed": installed,
        "packages_expected": expected,
    }


# --------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------


def wrk_check() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "wrk is not installed. It is the load generator this bench uses.\n"
            "  Debian/Ubuntu: apt-get install -y wrk\n"
            "  macOS:         brew install wrk\n"
            "  elsewhere:     build it from https://github.com/wg/wrk"
        )
    out = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).splitlines()[0].strip() if (out.stdout + out.stderr) else "wrk"


def wrk_run(
    url: str,
    headers: dict,
    concurrency: int,
    duration: int,
    threads: int,
    meter: CpuMeter | None = None,
) -> dict:
    script = WORK / "wrk-report.lua"
    if not script.exists() or script.read_text() != WRK_LUA:
        script.write_text(WRK_LUA)
    cmd = [
        "wrk",
        f"-t{max(1, min(threads, concurrency))}",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    cmd.append(url)
    before = meter.snapshot() if meter else {}
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = meter.snapshot() if meter else {}
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    raw = json.loads(line[len("WRKJSON ") :])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    cpu = {}
    if meter and meter.enabled and raw["requests"]:
        cpu = {"server_cpu_us": round(CpuMeter.spent(before, after) / raw["requests"] * 1e6, 1)}
    return {
        **cpu,
        "rps": round(raw["requests"] / seconds, 1),
        "requests": raw["requests"],
        "errors": errors,
        "error_detail": raw["errors"],
        "mb_per_s": round(raw["bytes"] / seconds / 1e6, 2),
        "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
    }


def probe(registry: Registry, url: str, headers: dict, auth: bool) -> dict:
    """One plain GET before a wrk run: wrk only counts statuses, this checks the answer."""
    path = urllib.parse.urlsplit(url)
    target = path.path + (f"?{path.query}" if path.query else "")
    status, resp_headers, body = registry.request("GET", target, headers=headers, auth=auth)
    return {
        "status": status,
        "bytes": len(body),
        "content_type": resp_headers.get("content-type", ""),
        "etag": resp_headers.get("etag", ""),
        "cache_control": resp_headers.get("cache-control", ""),
    }


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds spent by the server (and, optionally, its PostgreSQL backends).

    Requests per second swing by ±40% when other jobs share the machine; the CPU time the
    server spends per request moves much less, so it is the figure to compare on a busy
    box. (Capacity is about cores / CPU per request, for a server that can use every
    core: gunicorn with several workers can, a single Node process cannot.) It works
    only when the server runs on this machine: pass the pid of the process that started
    it (the serve_*.sh scripts write theirs to bench/work/<name>.pid), or several, e.g.
    nginx and gunicorn; all of their descendants are counted. With --db-name, the
    PostgreSQL backends serving that database are counted too, since a Django read costs
    PostgreSQL time as well.
    """

    def __init__(self, root_pids: list[int], db_name: str | None):
        self.root_pids = root_pids
        self.db_name = db_name
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    @property
    def enabled(self) -> bool:
        return bool(self.root_pids)

    @staticmethod
    def _stat(pid: int) -> list[str] | None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text.rsplit(")", 1)[1].split()  # fields from "state" on (field 3)

    def _pids(self) -> set[int]:
        children: dict[int, list[int]] = {}
        db_pids = set()
        needle = f" {self.db_name} ".encode() if self.db_name else None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            fields = self._stat(int(entry.name))
            if fields is None:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if needle:
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if cmdline.startswith(b"postgres:") and needle in cmdline:
                    db_pids.add(int(entry.name))
        tree, stack = set(), list(self.root_pids)
        while stack:
            pid = stack.pop()
            if pid not in tree:
                tree.add(pid)
                stack.extend(children.get(pid, []))
        return tree | db_pids

    def snapshot(self) -> dict[int, float]:
        if not self.enabled:
            return {}
        times = {}
        for pid in self._pids():
            fields = self._stat(pid)
            if fields is not None:  # utime and stime are fields 14 and 15
                times[pid] = (int(fields[11]) + int(fields[12])) / self.tick
        return times

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        # A process that appeared in between (a new DB connection) counts in full.
        return sum(after[pid] - before.get(pid, 0.0) for pid in after)


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def machine_info() -> dict:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "node": version(["node", "--version"]),
        "npm": version(["npm", "--version"]),
        "wrk": wrk_check(),
    }


def read_token(args) -> str | None:
    if args.token:
        return args.token.strip()
    if args.token_file:
        return Path(args.token_file).read_text().strip()
    return None


def run(args) -> dict:
    wrk_check()
    WORK.mkdir(parents=True, exist_ok=True)
    registry = Registry(args.registry, read_token(args))
    if not registry.token:
        raise SystemExit(
            "a token with publish rights is needed: --token or --token-file (see `bench.py login`)"
        )
    status, _, body = registry.request("GET", registry.parts.path + "-/whoami")
    if status != 200:
        raise SystemExit(f"GET /-/whoami with the token answered {status}: {body[:200]!r}")
    user = json.loads(body).get("username")
    run_id = args.run_id or format(int(time.time()) % 36**5, "x")
    prefix = f"{args.prefix}{run_id}"
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    server_pids = [int(pid) for pid in (args.server_pid or "").split(",") if pid.strip()]
    server_pids += [int(Path(f).read_text().split()[0]) for f in args.server_pid_file or []]
    meter = CpuMeter(server_pids, args.db_name)
    mid_conc = 16 if 16 in concurrencies else concurrencies[len(concurrencies) // 2]
    results: dict = {
        "label": args.label,
        "registry": registry.url,
        "user": user,
        "prefix": prefix,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "params": {k: v for k, v in vars(args).items() if k not in ("token", "func")},
        "loadavg_start": loadavg(),
        "cpu_metered": {"server_pids": server_pids, "db_name": args.db_name}
        if meter.enabled
        else None,
        "notes": list(args.note),
    }
    log(f"{args.label}: {registry.url} as {user}, package prefix {prefix}")

    # 1. Generate.
    roots_count = min(args.deps, args.packages)
    pkgs = generate_graph(args.packages, roots_count, args.scope, prefix, args.seed)
    roots = pkgs[-roots_count:]
    folder = WORK / "pkgs" / prefix
    write_packages(pkgs, folder, args.seed)
    results["packages"] = {
        "count": len(pkgs),
        "scoped": sum(p.scoped for p in pkgs),
        "dependency_edges": sum(len(p.deps) for p in pkgs),
        "tree_of_project": len(closure(pkgs, roots)),
        "folder": str(folder.relative_to(BENCH_DIR.parent)),
    }
    log(f"generated {len(pkgs)} packages ({results['packages']['scoped']} scoped) in {folder}")

    # 2. Publish with the npm CLI.
    if not args.skip_publish:
        results["publish_cli"] = npm_publish_all(
            registry, pkgs, folder, args.publish_jobs, args.label
        )

    # 3. Direct PUT latency, 4. one vs many versions (and a restricted package).
    one, many = f"{prefix}-one", f"{prefix}-many"
    restricted = f"@{args.scope}/{prefix}-private"
    if not args.skip_publish:
        put_name = f"{prefix}-put"
        create = put_versions(registry, put_name, ["1.0.0"])
        cpu_before = meter.snapshot()
        timings = put_versions(
            registry,
            put_name,
            [f"1.0.{i}" for i in range(1, args.put_samples + 1)],
            label="publish PUT latency",
        )
        results["publish_put"] = {
            "package": put_name,
            "create_ms": round(create[0] * 1000, 2),
            **summary_ms(timings),
            "samples_ms": [round(t * 1000, 2) for t in timings],
        }
        if meter.enabled:
            spent = CpuMeter.spent(cpu_before, meter.snapshot())
            results["publish_put"]["server_cpu_ms"] = round(spent / len(timings) * 1000, 2)
        put_versions(registry, one, ["1.0.0"])
        many_timings = put_versions(
            registry,
            many,
            [f"1.0.{i}" for i in range(args.many_versions)],
            label="many-versions package",
        )
        tenth = max(1, len(many_timings) // 10)
        results["many_versions_put"] = {
            "versions": len(many_timings),
            f"first_{tenth}_median_ms": round(statistics.median(many_timings[:tenth]) * 1000, 2),
            f"last_{tenth}_median_ms": round(statistics.median(many_timings[-tenth:]) * 1000, 2),
        }
        try:
            put_versions(registry, restricted, ["1.0.0"], access="restricted")
        except SystemExit as refused:  # a registry may refuse restricted packages: note it
            results["notes"].append(f"restricted publish refused: {refused}")

    # 5. Cold installs.
    if not args.skip_install:
        cpu_before = meter.snapshot()
        results["install"] = npm_cold_installs(registry, pkgs, roots, args.installs, args.label)
        if meter.enabled:
            spent = CpuMeter.spent(cpu_before, meter.snapshot())
            results["install"]["server_cpu_s_per_install"] = round(spent / args.installs, 2)

    # 6. Reads under load.
    mid = min((p for p in pkgs if not p.scoped), key=lambda p: abs(p.index - len(pkgs) // 2))
    status, _, body = registry.request(
        "GET", registry.path_for(mid.name), headers={"Accept": ACCEPT_FULL}
    )
    if status != 200:
        raise SystemExit(
            f"GET {mid.name} answered {status}; were the packages published? {body[:200]!r}"
        )
    tarball_url = json.loads(body)["versions"][mid.version]["dist"]["tarball"]
    targets = [
        (
            "packument-corgi",
            mid.name,
            registry.absolute(registry.path_for(mid.name)),
            {"Accept": ACCEPT_CORGI},
        ),
        (
            "packument-full",
            mid.name,
            registry.absolute(registry.path_for(mid.name)),
            {"Accept": ACCEPT_FULL},
        ),
        ("tarball", mid.name, tarball_url, {"Accept": "*/*"}),
    ]
    results["reads"] = []
    results["loadavg_before_reads"] = loadavg()

    def measure(kind: str, name: str, url: str, headers: dict, auth: str, concs: list[int]) -> None:
        with_auth = auth == "token"
        check = probe(registry, url, headers, with_auth)
        if check["status"] != 200:
            log(f"skip {kind} {name} {auth}: GET answered {check['status']}")
            results["reads"].append(
                {"target": kind, "package": name, "auth": auth, "skipped": check}
            )
            return
        wrk_headers = dict(
            headers, **({"Authorization": f"Bearer {registry.token}"} if with_auth else {})
        )
        wrk_headers["User-Agent"] = USER_AGENT
        if args.warmup:
            wrk_run(url, wrk_headers, max(concs), args.warmup, args.wrk_threads)  # unmetered
        for conc in concs:
            # Several short runs, keeping the median one: a busy neighbour then spoils
            # one sample rather than the figure.
            samples = [
                wrk_run(url, wrk_headers, conc, args.duration, args.wrk_threads, meter)
                for _ in range(args.repeat)
            ]
            row = sorted(samples, key=lambda sample: sample["rps"])[len(samples) // 2]
            row["rps_samples"] = [sample["rps"] for sample in samples]
            if meter.enabled:
                cpu = [sample["server_cpu_us"] for sample in samples]
                row["server_cpu_us"] = round(statistics.median(cpu), 1)
                row["server_cpu_us_samples"] = cpu
            row.update(
                {
                    "target": kind,
                    "package": name,
                    "auth": auth,
                    "concurrency": conc,
                    "response_bytes": check["bytes"],
                    "etag": check["etag"],
                    "cache_control": check["cache_control"],
                    "loadavg": loadavg(),
                }
            )
            results["reads"].append(row)
            cpu_note = f"  server CPU {row['server_cpu_us']} µs/req" if meter.enabled else ""
            log(
                f"{kind:<16} {auth:<5} c={conc:<3} {row['rps']:>9.1f} req/s  p50 {row['latency_ms']['p50']} ms"
                f"  p99 {row['latency_ms']['p99']} ms  errors {row['errors']}{cpu_note}"
            )

    for kind, name, url, headers in targets:
        anonymous_ok = probe(registry, url, headers, auth=False)["status"] == 200
        if anonymous_ok:
            measure(kind, name, url, headers, "anon", concurrencies)
        else:
            results["notes"].append(
                f"{kind}: anonymous reads refused, measured with the token only"
            )
        measure(kind, name, url, headers, "token", concurrencies)

    # Does a read cost more when the package has many versions?
    if not args.skip_versions:
        for kind, accept in (("packument-corgi", ACCEPT_CORGI), ("packument-full", ACCEPT_FULL)):
            for name in (one, many):
                url = registry.absolute(registry.path_for(name))
                auth = (
                    "anon"
                    if probe(registry, url, {"Accept": accept}, auth=False)["status"] == 200
                    else "token"
                )
                measure(
                    f"{kind}-{'1v' if name == one else f'{args.many_versions}v'}",
                    name,
                    url,
                    {"Accept": accept},
                    auth,
                    [mid_conc],
                )

        # A restricted package: only the token may read it (where the registry has the notion).
        url = registry.absolute(registry.path_for(restricted))
        anon_status = probe(registry, url, {"Accept": ACCEPT_CORGI}, auth=False)["status"]
        results["restricted_anonymous_status"] = anon_status
        if anon_status == 200:
            results["notes"].append(
                f"{restricted} published with access=restricted is readable anonymously"
            )
        measure("restricted-corgi", restricted, url, {"Accept": ACCEPT_CORGI}, "token", [mid_conc])

    results["loadavg_end"] = loadavg()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return results


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------


def read_key(row: dict) -> tuple:
    return (row["target"], row["auth"], row.get("concurrency"))


def table(runs: list[dict]) -> str:
    """Markdown table, one column per run, plus first/second when there are two runs."""
    labels = [r["label"] for r in runs]
    ratio = len(runs) == 2
    lines = [
        "| measurement | "
        + " | ".join(labels)
        + (f" | {labels[0]} / {labels[1]} |" if ratio else " |"),
        "|---" * (len(labels) + 1 + ratio) + "|",
    ]

    def get(run: dict, *path):
        value = run
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def add(name: str, values: list, fmt: str) -> None:
        if all(v is None for v in values):
            return  # e.g. a reads-only run has no install figures
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        if ratio:
            a, b = values
            cells.append(f"{a / b:.2f}x" if a and b else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    add("cold npm install, min (s)", [get(r, "install", "min_s") for r in runs], "{:.2f}")
    add("cold npm install, median (s)", [get(r, "install", "median_s") for r in runs], "{:.2f}")
    add("packages installed", [get(r, "install", "packages_installed") for r in runs], "{}")
    add("publish PUT, median (ms)", [get(r, "publish_put", "median_ms") for r in runs], "{:.1f}")
    add("publish PUT, p95 (ms)", [get(r, "publish_put", "p95_ms") for r in runs], "{:.1f}")
    add(
        "npm publish (CLI), median (ms)",
        [get(r, "publish_cli", "median_ms") for r in runs],
        "{:.0f}",
    )
    keys: list[tuple] = []
    for r in runs:
        for row in r.get("reads", []):
            if "rps" in row and read_key(row) not in keys:
                keys.append(read_key(row))
    for key in keys:
        values = []
        for r in runs:
            match = next(
                (row for row in r.get("reads", []) if "rps" in row and read_key(row) == key), None
            )
            values.append(match["rps"] if match else None)
        target, auth, conc = key
        add(f"{target} {auth} c={conc} (req/s)", values, "{:,.0f}")
    add(
        "server CPU per cold install (s)",
        [get(r, "install", "server_cpu_s_per_install") for r in runs],
        "{:.2f}",
    )
    add(
        "server CPU per publish PUT (ms)",
        [get(r, "publish_put", "server_cpu_ms") for r in runs],
        "{:.1f}",
    )
    for key in keys:
        values = []
        for r in runs:
            match = next(
                (row for row in r.get("reads", []) if "rps" in row and read_key(row) == key), None
            )
            values.append(match.get("server_cpu_us") if match else None)
        target, auth, conc = key
        add(f"{target} {auth} c={conc} (server CPU µs/req)", values, "{:,.0f}")
    return "\n".join(lines)


def print_run(results: dict) -> None:
    print(f"\n## {results['label']} — {results['registry']}\n")
    print(table([results]))
    extra = results.get("many_versions_put")
    if extra:
        print(f"\nPUT latency while a package grows to {extra['versions']} versions: {extra}")
    for note in results.get("notes", []):
        print(f"note: {note}")


# --------------------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------------------


def cmd_run(args) -> None:
    results = run(args)
    out = Path(args.out or WORK / f"results-{args.label}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_run(results)
    print(f"\nwrote {out}")


def cmd_compare(args) -> None:
    runs = [json.loads(Path(p).read_text()) for p in args.results]
    print(table(runs))


def cmd_login(args) -> None:
    """PUT /-/user/org.couchdb.user:<name>, as `npm adduser --auth-type=legacy` does (§14.2).

    Creates the user where the registry allows it (Verdaccio), or logs in (Gatehouse, after
    `manage.py createsuperuser`). Prints the token.
    """
    registry = Registry(args.registry, None)
    deadline = time.monotonic() + args.wait
    body = {
        "_id": f"org.couchdb.user:{args.user}",
        "name": args.user,
        "password": args.password,
        "type": "user",
        "roles": [],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if args.email:
        body["email"] = args.email
    path = registry.parts.path + "-/user/org.couchdb.user:" + urllib.parse.quote(args.user, safe="")
    while True:
        try:
            status, _, data = registry.request("PUT", path, json.dumps(body).encode(), auth=False)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            registry.close()
            time.sleep(0.5)
    if status >= 300:
        raise SystemExit(f"login failed: {status} {data[:300]!r}")
    print(json.loads(data)["token"])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")

    p_run = sub.add_parser("run", help="benchmark one registry (the default command)")
    p_run.add_argument(
        "--registry", required=True, help="registry base URL, e.g. http://127.0.0.1:18100/"
    )
    p_run.add_argument("--token", help="a token allowed to publish")
    p_run.add_argument("--token-file", help="read the token from this file instead")
    p_run.add_argument("--label", required=True, help="name of this run (table column, file name)")
    p_run.add_argument("--out", help="JSON results file (default bench/work/results-<label>.json)")
    p_run.add_argument(
        "--scope",
        default="bench",
        help="scope of the scoped packages (Gatehouse: must be the user's name)",
    )
    p_run.add_argument("--prefix", default="b", help="package name prefix; a run id is appended")
    p_run.add_argument(
        "--run-id", help="fixed run id (reuse packages of an earlier run with --skip-publish)"
    )
    p_run.add_argument("--seed", type=int, default=20240611)
    p_run.add_argument("--packages", type=int, default=200)
    p_run.add_argument(
        "--deps", type=int, default=50, help="direct dependencies of the install project"
    )
    p_run.add_argument(
        "--publish-jobs", type=int, default=4, help="npm publish processes at a time"
    )
    p_run.add_argument(
        "--put-samples", type=int, default=50, help="direct PUTs timed for publish latency"
    )
    p_run.add_argument("--many-versions", type=int, default=200)
    p_run.add_argument(
        "--installs", type=int, default=3, help="cold installs (min and median reported)"
    )
    p_run.add_argument("--concurrency", default="1,16,64")
    p_run.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    p_run.add_argument(
        "--repeat", type=int, default=3, help="wrk runs per cell; the median is kept"
    )
    p_run.add_argument(
        "--warmup", type=int, default=2, help="seconds of unrecorded load before each target"
    )
    p_run.add_argument("--wrk-threads", type=int, default=2)
    p_run.add_argument(
        "--skip-publish", action="store_true", help="packages of --run-id are already there"
    )
    p_run.add_argument("--skip-install", action="store_true")
    p_run.add_argument(
        "--note", action="append", default=[], help="a line to keep with the results"
    )
    p_run.add_argument(
        "--server-pid", help="count the CPU time of these processes (comma list) and descendants"
    )
    p_run.add_argument(
        "--server-pid-file", action="append", help="read a --server-pid from this file (repeatable)"
    )
    p_run.add_argument(
        "--db-name", help="also count PostgreSQL backends serving this database (local server)"
    )
    p_run.add_argument(
        "--skip-versions", action="store_true", help="skip 1-vs-many versions and restricted reads"
    )
    p_run.set_defaults(func=cmd_run)

    p_cmp = sub.add_parser("compare", help="side-by-side table of result files")
    p_cmp.add_argument("results", nargs="+")
    p_cmp.set_defaults(func=cmd_compare)

    p_login = sub.add_parser("login", help="get a token via PUT /-/user/org.couchdb.user:<name>")
    p_login.add_argument("--registry", required=True)
    p_login.add_argument("--user", required=True)
    p_login.add_argument("--password", required=True)
    p_login.add_argument("--email", help="needed where the PUT creates the account (Verdaccio)")
    p_login.add_argument(
        "--wait", type=float, default=0, help="seconds to wait for the server to start"
    )
    p_login.set_defaults(func=cmd_login)

    # `bench.py --registry ...` means `bench.py run --registry ...`.
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        raise SystemExit(2)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
