"""Tarball bytes are stored once per sha512 and collected only when nothing uses them."""

from pathlib import Path

import pytest
from django.core.files.storage import storages

from registry.blobs import blobs_collect
from registry.models import Blob
from tests.packages import npm_tarball
from tests.registry.helpers import publish, write


def _stored_files():
    root = storages["tarballs"].location
    return sorted(p.name for p in Path(root).rglob("*.tgz"))


@pytest.mark.django_db
def test_identical_tarballs_share_one_blob(client, alice_token):
    tarball = npm_tarball({"package.json": '{"name": "same-bytes", "version": "1.0.0"}'})
    publish(client, alice_token, "same-bytes", "1.0.0", tarball=tarball)
    assert Blob.objects.count() == 1
    assert len(_stored_files()) == 1


@pytest.mark.django_db
def test_collect_removes_only_unreferenced_blobs(client, alice_token):
    publish(client, alice_token, "kept", "1.0.0")
    publish(client, alice_token, "dropped", "1.0.0")
    publish(client, alice_token, "dropped", "1.0.1")
    rev = client.get("/dropped").json()["_rev"]
    body = client.get("/dropped?write=true").json()
    del body["versions"]["1.0.0"]
    assert write(client, "put", f"/dropped/-rev/{rev}", alice_token, body).status_code == 200

    assert blobs_collect() == 1

    assert Blob.objects.count() == 2
    assert len(_stored_files()) == 2
    for path in ("/kept/-/kept-1.0.0.tgz", "/dropped/-/dropped-1.0.1.tgz"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content)
    assert blobs_collect() == 0
