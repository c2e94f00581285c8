"""gunicorn's logger without the secrets some URLs carry (see portal.log_redaction).

    gunicorn portal.wsgi --logger-class portal.gunicorn_logging.RedactingLogger ...

The access log's request line, path, query and every header or environ value that could
repeat them are rewritten for requests whose URL or Referer holds a secret; other requests
are logged as gunicorn always does. The error log goes through the same redaction.
"""

from gunicorn.glogging import Logger

from portal.log_redaction import RedactSecrets, has_secret, redact


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(kept, RedactSecrets) for kept in self.error_log.filters):
            self.error_log.addFilter(RedactSecrets())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        if has_secret(environ.get("RAW_URI", "")) or has_secret(environ.get("HTTP_REFERER", "")):
            atoms = {
                key: redact(value) if isinstance(value, str) else value
                for key, value in atoms.items()
            }
        return atoms
