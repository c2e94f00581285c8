"""Bundled dependencies with the real npm CLI: `npm pack` puts `node_modules/<dep>` in the
tarball, `npm install` runs that dependency's postinstall, so the review page and the
packument installers read must say so."""

import json

import pytest
from django.test import Client

from registry.models import StagedRelease
from tests.e2e.test_stage import Codes, stage_publish

pytestmark = pytest.mark.django_db(transaction=True)

CORGI_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
POSTINSTALL = "node -e \"require('fs').writeFileSync('ran-postinstall', 'yes')\""


def carrier(npm, version: str):
    """A package that bundles `hook-dep`, whose postinstall writes a file when it runs."""
    hook = {"name": "hook-dep", "version": "1.0.0", "scripts": {"postinstall": POSTINSTALL}}
    return npm.package(
        "carrier-x",
        version,
        files={
            "node_modules/hook-dep/package.json": json.dumps(hook),
            "node_modules/hook-dep/index.js": "module.exports = 1;\n",
        },
        dependencies={"hook-dep": "1.0.0"},
        bundleDependencies=["hook-dep"],
    )


def test_a_bundled_postinstall_is_on_the_review_page_and_sets_has_install_script(
    npm, alice, alice_token
):
    npm.login_with(alice_token)
    codes = Codes(alice)
    folder = carrier(npm, "1.0.0")
    [packed] = npm.json("pack", "--dry-run", cwd=folder)
    assert "node_modules/hook-dep/package.json" in {f["path"] for f in packed["files"]}

    stage_id = stage_publish(npm, folder)

    staged = StagedRelease.objects.get(pk=stage_id)
    message = (
        "Adds a postinstall script in the bundled package node_modules/hook-dep, which npm "
        "runs on install."
    )
    assert message in [risk["message"] for risk in staged.dossier["risks"]]
    browser = Client()
    browser.force_login(alice)
    assert message in browser.get(f"/staging/{stage_id}/").content.decode()
    assert "high-risk" in npm("stage", "view", stage_id).stdout

    npm("stage", "approve", stage_id, codes.otp())

    corgi = Client().get("/carrier-x", HTTP_ACCEPT=CORGI_ACCEPT).json()
    assert corgi["versions"]["1.0.0"]["hasInstallScript"] is True
    # What the flag announces is what happens: installing runs the bundled postinstall.
    project = npm.project({"carrier-x": "1.0.0"})
    npm("install", cwd=project)
    lock = json.loads((project / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/carrier-x"]["hasInstallScript"] is True
    ran = project / "node_modules/carrier-x/node_modules/hook-dep/ran-postinstall"
    assert ran.read_text() == "yes"
