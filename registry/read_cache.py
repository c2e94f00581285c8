"""Packuments and small tarballs, kept in each web process's memory.

A read that hits this cache costs no query. Entries are dropped the moment their package
changes: every write that rebuilds a packument announces it (`read_cache_announce`), in
the writing process at commit and, on PostgreSQL, to every other process through
LISTEN/NOTIFY (delivered only when the writing transaction commits). A process whose
listener is not connected caches nothing, so it can never serve what it was not told
about; the embedded mode (SQLite) is one process and needs no listener.

A restricted package's documents are cached like public ones but served only to a bearer
token holding a *pass* for that package (registry.read_passes): the record that this
token was allowed to read it. Passes go when the package changes, and all of them go
when anything that decides who may read changes (tokens, people, memberships, teams,
grants, maintainers), announced the same way under the name `ACCESS_CHANGED`.
"""

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "gatehouse_packages"
MAX_AGE_SECONDS = 300  # a safety net only: invalidation is what keeps entries right
# Not a package name: no valid name contains a colon.
ACCESS_CHANGED = ":access"
MAX_PASSES = 100_000


@dataclass(frozen=True)
class CachedRead:
    body: bytes
    etag: str
    content_type: str
    cache_control: str
    vary: str
    stored_at: float
    restricted: bool = False


@dataclass
class ReaderPass:
    """A bearer token that was allowed to read one restricted package."""

    token_id: int
    expires_at: datetime | None
    cidrs: tuple[str, ...]
    noted_ip: str | None  # where its last use was recorded from, and when (monotonic)
    noted_at: float
    stored_at: float


class ReadCache:
    def __init__(self, max_bytes: int):
        self._entries: OrderedDict[tuple, CachedRead] = OrderedDict()
        self._passes: OrderedDict[tuple[str, str], ReaderPass] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._epoch = 0
        self.last_invalidated = ""
        self.healthy = False  # set by whoever guarantees invalidation

    def epoch(self) -> int:
        return self._epoch

    def get(self, key: tuple) -> CachedRead | None:
        if not self.healthy:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry.stored_at > MAX_AGE_SECONDS:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: CachedRead, epoch: int) -> None:
        """Store what was read while the epoch was `epoch`; nothing if anything changed since."""
        size = len(entry.body)
        with self._lock:
            if not self.healthy or epoch != self._epoch or size > self._max_bytes // 8:
                return
            old = self._entries.pop(key, None)
            self._bytes += size - (len(old.body) if old else 0)
            self._entries[key] = entry
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def pass_get(self, token_hash: str, name: str) -> ReaderPass | None:
        if not self.healthy:
            return None
        with self._lock:
            held = self._passes.get((token_hash, name))
            if held is None or time.monotonic() - held.stored_at > MAX_AGE_SECONDS:
                return None
            return held

    def pass_put(self, token_hash: str, name: str, held: ReaderPass, epoch: int) -> None:
        """Store a pass decided while the epoch was `epoch`; nothing if anything changed since."""
        with self._lock:
            if not self.healthy or epoch != self._epoch:
                return
            self._passes[(token_hash, name)] = held
            self._passes.move_to_end((token_hash, name))
            while len(self._passes) > MAX_PASSES:
                self._passes.popitem(last=False)

    def invalidate(self, name: str) -> None:
        with self._lock:
            self._epoch += 1
            self.last_invalidated = name
            if name == ACCESS_CHANGED:
                self._passes.clear()
                return
            for key in [key for key in self._entries if key[1] == name]:
                self._bytes -= len(self._entries.pop(key).body)
            for key in [key for key in self._passes if key[1] == name]:
                del self._passes[key]

    def reset(self, healthy: bool) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._passes.clear()
            self._bytes = 0
            self.healthy = healthy


cache = ReadCache(max_bytes=settings.GATEHOUSE_READ_CACHE_MB * 1024 * 1024)
_listener_pid: int | None = None


def read_cache_ready() -> bool:
    """Whether this process may use the cache; starts its listener on first use."""
    global _listener_pid
    if not settings.GATEHOUSE_READ_CACHE_MB:
        return False
    if connection.vendor == "sqlite":
        cache.healthy = True
        return True
    if connection.vendor != "postgresql":
        return False
    if _listener_pid != os.getpid():  # first use in this (possibly forked) process
        _listener_pid = os.getpid()
        cache.reset(healthy=False)
        params = connection.get_connection_params()
        threading.Thread(
            target=_listen, args=(params,), name="read-cache-listener", daemon=True
        ).start()
    return cache.healthy


_stopping = threading.Event()
_listener_connection = None


def _listen(params: dict) -> None:
    global _listener_connection
    import psycopg  # only a PostgreSQL process listens: one on SQLite never loads the driver

    params = {
        key: value for key, value in params.items() if key not in ("cursor_factory", "context")
    }
    while not _stopping.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as listener:
                _listener_connection = listener
                listener.execute(f"LISTEN {CHANNEL}")
                cache.reset(healthy=True)
                for notice in listener.notifies():
                    cache.invalidate(notice.payload)
        except Exception:  # any failure: stop caching until listening again
            if not _stopping.is_set():
                log.warning(
                    "read cache listener lost its connection; caching is off until it is back"
                )
        cache.reset(healthy=False)
        _stopping.wait(1)


def read_cache_stop() -> None:
    """Close this process's listener (tests do, before dropping their database)."""
    _stopping.set()
    cache.reset(healthy=False)
    if _listener_connection is not None:
        _listener_connection.cancel_safe()
        _listener_connection.close()


def read_cache_announce(name: str) -> None:
    """Called inside the transaction that changed `name` (or who may read: ACCESS_CHANGED):
    every process forgets it on commit (this one at once too, so its own later reads never
    see the old document or use a withdrawn pass)."""
    cache.invalidate(name)
    transaction.on_commit(partial(cache.invalidate, name))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, name])
