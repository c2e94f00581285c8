"""Secrets that travel in URLs, kept out of logs.

Some URLs are capabilities: whoever reads them can act. The npm CLI polls
`/-/v1/done?sessionId=<secret>` for its login token and `/-/v1/otp/<secret>` for a
security-key approval's code; e-mail links carry a verification or password-reset token.
Access logs (gunicorn) and Django's request log (a 404 for an expired link) would print
them. `redact` blanks the secret part and keeps the rest, so a log still says what happened.
"""

import logging
import re

REDACTED = "[redacted]"

_SECRETS = re.compile(
    r"(?P<keep>/-/v1/otp/|(?<!\w)sessionId=|/account/email/verify/"
    r"|/account/password/reset/(?!sent/|done/)[^/\s?#]+/)"
    r"(?!set-password/)[^/\s?&#\"]+"
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda match: match["keep"] + REDACTED, text)


def has_secret(text: str) -> bool:
    return _SECRETS.search(text) is not None


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites a record's message without the secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if has_secret(message):
            record.msg, record.args = redact(message), None
        return True
