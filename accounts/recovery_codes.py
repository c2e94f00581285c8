"""Recovery codes: random, shown once, stored as keyed hashes.

The codes carry about 60 bits of randomness and every attempt is rate-limited, so a
keyed SHA-256 (HMAC with the server's secret) is enough: a stolen table is useless
without the key, and a code is found with one indexed lookup.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes get typed from paper
COUNT = 10


def recovery_code_generate() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def recovery_code_normalize(code: str) -> str:
    compact = "".join(ch for ch in code.lower() if ch.isalnum())
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}" if len(compact) == 12 else ""


def recovery_code_hash(code: str) -> str:
    key = ("gatehouse-recovery:" + settings.SECRET_KEY).encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return bool(recovery_code_normalize(code)) and not code.strip().isdigit()
