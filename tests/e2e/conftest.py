"""The real npm CLI against a live Gatehouse (pytest-django's live_server).

Each test gets an isolated npm: its own HOME, userconfig, cache and global config, the
registry in `npm_config_registry` (not --registry, which breaks `npm trust`), and
`--fetch-retries=0` so a 5xx fails at once instead of after 70 s of retries.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NPM = shutil.which("npm")


@pytest.fixture
def registry(live_server, settings) -> str:
    url = live_server.url + "/"
    settings.GATEHOUSE_URL = url
    return url


class Npm:
    def __init__(self, registry: str, root: Path):
        if NPM is None:
            pytest.fail("npm is not installed; the end-to-end tests need the npm CLI (11.15+)")
        self.registry = registry
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.npmrc = self.home / ".npmrc"
        self.npmrc.write_text("")
        (root / "globalnpmrc").write_text("")
        self.nerf = "//" + registry.split("://", 1)[1]

    def env(self, extra: dict | None = None) -> dict:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "npm_config_userconfig": str(self.npmrc),
            "npm_config_globalconfig": str(self.root / "globalnpmrc"),
            "npm_config_cache": str(self.root / "cache"),
            "npm_config_registry": self.registry,
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "npm_config_fetch_retries": "0",
            "NO_COLOR": "1",
        }
        env.update(extra or {})
        return env

    def login_with(self, token: str) -> None:
        self.npmrc.write_text(f"{self.nerf}:_authToken={token}\n")

    def logout_locally(self) -> None:
        self.npmrc.write_text("")

    def __call__(
        self, *args, cwd=None, check=True, env=None, timeout=120
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [NPM, *args],
            cwd=cwd or self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"npm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args, **kwargs):
        return json.loads(self(*args, "--json", **kwargs).stdout)

    def package(
        self, name: str, version: str = "1.0.0", files: dict | None = None, **fields
    ) -> Path:
        """Write a package folder and return it."""
        folder = self.root / "src" / f"{name.replace('/', '__')}-{version}"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {"name": name, "version": version, "description": f"{name} for tests", **fields}
        (folder / "package.json").write_text(json.dumps(manifest, indent=2))
        (folder / "index.js").write_text(f"module.exports = {json.dumps(name + '@' + version)};\n")
        (folder / "README.md").write_text(f"# {name}\n\nVersion {version}.\n")
        for path, content in (files or {}).items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        return folder

    def project(self, dependencies: dict[str, str], name: str = "app") -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        manifest = {"name": name, "version": "1.0.0", "private": True, "dependencies": dependencies}
        (folder / "package.json").write_text(json.dumps(manifest, indent=2))
        return folder


@pytest.fixture
def npm(registry, tmp_path) -> Npm:
    return Npm(registry, tmp_path / "npm-alice")


@pytest.fixture
def make_npm(registry, tmp_path):
    """Another isolated npm, e.g. for a second person on the same registry."""

    def make(label: str) -> Npm:
        return Npm(registry, tmp_path / f"npm-{label}")

    return make
