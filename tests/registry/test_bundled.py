"""Bundled dependencies count for `hasInstallScript`: npm runs their install scripts, so
the version manifest (and the abbreviated packument installers read) says so."""

import json

import pytest

from registry.bundled import install_scripts
from tests.registry.helpers import publish

CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def bundled(name: str = "dep", **fields) -> str:
    return json.dumps({"name": name, "version": "1.0.0", **fields})


def corgi_version(client, name: str, version: str = "1.0.0") -> dict:
    document = client.get(f"/{name}", HTTP_ACCEPT=CORGI_ACCEPT).json()
    return document["versions"][version]


@pytest.mark.parametrize(
    "files",
    [
        {"node_modules/dep/package.json": bundled(scripts={"postinstall": "node steal.js"})},
        {"node_modules/a/node_modules/b/package.json": bundled("b", scripts={"preinstall": "x"})},
        {"node_modules/dep/package.json": bundled(), "node_modules/dep/binding.gyp": "{}"},
        {"node_modules/dep/package.json": "[" * 2000},  # cannot be read: assume the worst
    ],
    ids=["postinstall", "deeper", "binding-gyp", "unreadable"],
)
def test_a_bundled_install_script_sets_has_install_script(client, alice_token, files):
    response = publish(
        client,
        alice_token,
        "carrier",
        package_json={"bundleDependencies": ["dep"], "dependencies": {"dep": "1.0.0"}},
        extra_files=files,
    )

    assert response.status_code == 201, response.content
    assert corgi_version(client, "carrier")["hasInstallScript"] is True


def test_bundled_packages_without_install_scripts_leave_it_unset(client, alice_token):
    files = {
        "node_modules/dep/package.json": bundled(scripts={"install": "", "test": "jest"}),
        "node_modules/other/package.json": bundled("other", gypfile=False),
        "node_modules/other/binding.gyp": "{}",
        "lib/esm/package.json": '{"type": "module"}',
    }

    response = publish(client, alice_token, "plain", extra_files=files)

    assert response.status_code == 201, response.content
    assert "hasInstallScript" not in corgi_version(client, "plain")


def test_install_scripts_follow_npm_rules():
    assert install_scripts(
        {"scripts": {"postinstall": "a", "test": "b"}}, has_binding_gyp=False
    ) == {"postinstall": "a"}
    assert install_scripts({}, has_binding_gyp=True) == {"install": "node-gyp rebuild"}
    assert install_scripts({"scripts": {"preinstall": "p"}}, has_binding_gyp=True) == {
        "preinstall": "p"
    }
    assert install_scripts({"gypfile": False}, has_binding_gyp=True) == {}
    assert install_scripts({"scripts": ["not", "an", "object"]}, has_binding_gyp=False) == {}
