"""Random secrets handed to people or the npm CLI: generated, hashed and compared here.

Tokens carry a readable prefix so a leaked one can be recognised by secret scanners and
by people. Only the SHA-256 of a secret is stored: the secrets are long and random, so a
slow hash adds nothing, and a lookup by hash is a constant-time comparison in effect.
"""

import hashlib
import secrets

TOKEN_PREFIX = "gth_"  # noqa: S105 - a public marker, not a secret
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def secret_generate(prefix: str = TOKEN_PREFIX, length: int = 40) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_display_prefix(secret: str) -> str:
    return secret[: len(TOKEN_PREFIX) + 6]
