"""The read cache: public documents without a query, dropped the moment they change."""

import time

import psycopg
import pytest

from registry import fastpath
from registry.read_cache import CachedRead, ReadCache, cache
from tests.registry.helpers import (
    on_postgresql,
    pg_params,
    publish,
    read_cache_settle,
    wait_until,
    write,
)

CORGI = "application/vnd.npm.install-v1+json"


@pytest.mark.django_db(transaction=True)
def test_a_cached_packument_and_tarball_cost_no_query(
    client, alice_token, django_assert_num_queries
):
    publish(client, alice_token, "cached", "1.0.0")
    read_cache_settle()

    first = client.get("/cached", HTTP_ACCEPT=CORGI)
    tarball = b"".join(client.get("/cached/-/cached-1.0.0.tgz").streaming_content)

    with django_assert_num_queries(0):
        again = client.get("/cached", HTTP_ACCEPT=CORGI)
        not_modified = client.get("/cached", HTTP_ACCEPT=CORGI, HTTP_IF_NONE_MATCH=first["ETag"])
        tarball_again = b"".join(client.get("/cached/-/cached-1.0.0.tgz").streaming_content)

    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == first["Cache-Control"]
    assert not_modified.status_code == 304
    assert tarball_again == tarball


@pytest.mark.django_db(transaction=True)
def test_every_write_drops_the_cached_documents(client, alice_token):
    publish(client, alice_token, "moving", "1.0.0")
    read_cache_settle()
    assert list(client.get("/moving").json()["versions"]) == ["1.0.0"]

    publish(client, alice_token, "moving", "1.1.0")
    assert list(client.get("/moving").json()["versions"]) == ["1.0.0", "1.1.0"]

    write(client, "put", "/-/package/moving/dist-tags/old", alice_token, "1.0.0")
    assert client.get("/moving").json()["dist-tags"]["old"] == "1.0.0"

    rev = client.get("/moving").json()["_rev"]
    write(client, "delete", f"/moving/-rev/{rev}", alice_token)
    assert client.get("/moving").status_code == 404
    assert client.get("/moving/-/moving-1.0.0.tgz").status_code == 404


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_another_process_write_reaches_this_cache_through_notify(client, alice_token):
    publish(client, alice_token, "shared", "1.0.0")
    read_cache_settle()
    key = ("packument", "shared", False)

    client.get("/shared")
    assert cache.get(key) is not None

    with psycopg.connect(**pg_params(), autocommit=True) as other_process:
        other_process.execute("SELECT pg_notify('gatehouse_packages', 'shared')")

    assert wait_until(lambda: cache.get(key) is None), "the notification did not drop the entry"


def test_an_entry_read_before_a_change_is_not_stored_after_it():
    local = ReadCache(max_bytes=1024 * 1024)
    local.healthy = True
    entry = CachedRead(b"{}", '"e"', "application/json", "public", "Accept", time.monotonic())
    epoch = local.epoch()
    local.invalidate("pkg")  # the package changed while the old document was being read
    local.put(("packument", "pkg", False), entry, epoch)
    assert local.get(("packument", "pkg", False)) is None


def test_nothing_is_cached_without_a_guarantee_of_invalidation():
    local = ReadCache(max_bytes=1024 * 1024)
    entry = CachedRead(b"{}", '"e"', "application/json", "public", "Accept", time.monotonic())
    local.put(("packument", "pkg", False), entry, local.epoch())
    assert local.get(("packument", "pkg", False)) is None


def test_the_cache_stays_within_its_memory():
    local = ReadCache(max_bytes=80)
    local.healthy = True
    for index in range(20):
        body = bytes(10)
        local.put(
            ("packument", f"p{index}", False),
            CachedRead(body, '"e"', "x", "public", "", time.monotonic()),
            local.epoch(),
        )
    assert sum(1 for index in range(20) if local.get(("packument", f"p{index}", False))) == 8


@pytest.mark.django_db(transaction=True)
def test_a_tarball_too_large_to_keep_is_read_once_and_streamed(
    client, alice_token, monkeypatch, django_assert_num_queries
):
    publish(client, alice_token, "big", "1.0.0")
    read_cache_settle()
    monkeypatch.setattr(fastpath, "CACHED_TARBALL_BYTES", 16)

    with django_assert_num_queries(1):  # the view's own lookup, once
        response = client.get("/big/-/big-1.0.0.tgz")
        body = b"".join(response.streaming_content)

    assert response.status_code == 200 and len(body) == int(response["Content-Length"]) > 16
    assert cache.get(("tarball", "big", "big-1.0.0.tgz")) is None
