"""Publishing with the real npm CLI and installing what was published."""

import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_publish_then_install_unscoped_package(npm, alice_token):
    npm.login_with(alice_token)
    npm("publish", cwd=npm.package("left-pad-x", "1.0.0"))
    app = npm.project({"left-pad-x": "^1.0.0"})

    npm("install", cwd=app)

    lock = json.loads((app / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/left-pad-x"]
    assert entry["version"] == "1.0.0"
    assert entry["integrity"].startswith("sha512-")
    assert (
        app / "node_modules/left-pad-x/index.js"
    ).read_text().strip() == 'module.exports = "left-pad-x@1.0.0";'
