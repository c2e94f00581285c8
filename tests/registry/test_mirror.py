"""The file mirror a front proxy serves: public packages only, always consistent."""

import json

import pytest

from tests.registry.helpers import publish, write

# The mirror is written after commit, so these tests need real transactions.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mirror(settings, tmp_path):
    settings.GATEHOUSE_MIRROR_DIR = str(tmp_path / "mirror")
    return tmp_path / "mirror"


def test_publish_mirrors_packuments_and_tarball(client, alice_token, mirror):
    assert publish(client, alice_token, "mirrored", "1.0.0").status_code == 201

    full = json.loads((mirror / "mirrored/index.json").read_text())
    corgi = json.loads((mirror / "mirrored/index.corgi.json").read_text())
    assert full["versions"]["1.0.0"]["dist"]["tarball"].endswith("/mirrored/-/mirrored-1.0.0.tgz")
    assert list(corgi["versions"]) == ["1.0.0"]
    served = client.get("/mirrored/-/mirrored-1.0.0.tgz")
    served_bytes = b"".join(served.streaming_content)
    assert (mirror / "mirrored/-/mirrored-1.0.0.tgz").read_bytes() == served_bytes
    assert (mirror / "mirrored/index.json").read_bytes() == client.get("/mirrored").content


def test_restricted_packages_are_never_mirrored(client, alice_token, mirror):
    assert publish(client, alice_token, "@alice/secret", "1.0.0").status_code == 201
    assert not (mirror / "@alice").exists()


def test_mirror_follows_dist_tags_and_unpublish(client, alice_token, mirror):
    publish(client, alice_token, "moving", "1.0.0")
    publish(client, alice_token, "moving", "1.1.0")
    assert (
        write(client, "put", "/-/package/moving/dist-tags/stable", alice_token, "1.0.0").status_code
        == 200
    )
    assert json.loads((mirror / "moving/index.json").read_text())["dist-tags"]["stable"] == "1.0.0"

    rev = client.get("/moving").json()["_rev"]
    assert write(client, "delete", f"/moving/-rev/{rev}", alice_token).status_code == 200
    assert not (mirror / "moving").exists()


def test_mirror_is_off_by_default(client, alice_token, tmp_path):
    publish(client, alice_token, "unmirrored", "1.0.0")
    assert not (tmp_path / "mirror").exists()
