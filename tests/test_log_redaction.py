"""Secrets carried in URLs never reach a log: gunicorn's access and error logs (the logger
class the Makefile runs it with) and Django's request log."""

import logging
import re
import shlex
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from portal.gunicorn_logging import RedactingLogger
from portal.log_redaction import redact

ROOT = Path(__file__).resolve().parent.parent
LOGGER_CLASS = "portal.gunicorn_logging.RedactingLogger"
SECRET = "s3cretS3cretS3cretS3cretS3cretS3cretS3cret"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (f"/-/v1/done?sessionId={SECRET}", "/-/v1/done?sessionId=[redacted]"),
        (f"/-/v1/done?x=1&sessionId={SECRET}&y=2", "/-/v1/done?x=1&sessionId=[redacted]&y=2"),
        (f"/-/v1/otp/{SECRET}", "/-/v1/otp/[redacted]"),
        (f"/account/email/verify/{SECRET}/", "/account/email/verify/[redacted]/"),
        (f"/account/password/reset/MQ/{SECRET}/", "/account/password/reset/MQ/[redacted]/"),
    ],
)
def test_secret_urls_lose_their_secret_and_keep_the_rest(url, kept):
    assert redact(f"GET {url} HTTP/1.1") == f"GET {kept} HTTP/1.1"


@pytest.mark.parametrize(
    "url",
    [
        "/-/v1/login",
        "/account/password/reset/sent/",
        "/account/password/reset/MQ/set-password/",
        "/account/email/verify-again/",
        "/@scope/pkg/-/pkg-1.0.0.tgz",
        "/account/approve/0123456789abcdef0123456789abcdef/",
    ],
)
def test_other_urls_are_logged_as_they_are(url):
    assert redact(url) == url


@pytest.fixture
def gunicorn_logger(tmp_path):
    """gunicorn's logger as `--logger-class` makes it, writing to files in tmp_path."""
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(config)
    yield logger
    for log in (logger.access_log, logger.error_log):  # gunicorn's loggers are global
        for handler in list(log.handlers):
            handler.close()
            log.removeHandler(handler)
        for kept in list(log.filters):
            log.removeFilter(kept)


def _request(logger, raw_uri: str, referer: str = "-") -> None:
    path, _, query = raw_uri.partition("?")
    environ = {
        "REQUEST_METHOD": "PUT",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "npm/11.19.1 node/v20.20.2 linux x64",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("USER-AGENT", "npm/11.19.1")])
    response = SimpleNamespace(status="202 Accepted", sent=2, headers=[("Retry-After", "1")])
    logger.access(response, request, environ, timedelta(milliseconds=3))


@pytest.mark.parametrize("raw_uri", [f"/-/v1/done?sessionId={SECRET}", f"/-/v1/otp/{SECRET}"])
def test_gunicorn_access_log_redacts_the_poll_urls(gunicorn_logger, tmp_path, raw_uri):
    logger = gunicorn_logger
    logger.cfg.set(
        "access_log_format", "%(r)s %(U)s %(q)s %({raw_uri}e)s %({query_string}e)s %(s)s %(f)s"
    )

    _request(logger, raw_uri)
    _request(logger, "/dep-a", referer=f"http://localhost/account/email/verify/{SECRET}/")
    _request(logger, "/-/whoami")

    lines = (tmp_path / "access.log").read_text().splitlines()
    assert SECRET not in "\n".join(lines)
    assert lines[0].startswith(f"PUT {redact(raw_uri)} HTTP/1.1 ")
    assert "[redacted]" in lines[1]
    assert lines[2] == "PUT /-/whoami HTTP/1.1 /-/whoami  /-/whoami  202 -"


def test_gunicorn_default_access_line_redacts_the_secret(gunicorn_logger, tmp_path):
    _request(gunicorn_logger, f"/-/v1/otp/{SECRET}")

    line = (tmp_path / "access.log").read_text()
    assert '"PUT /-/v1/otp/[redacted] HTTP/1.1" 202' in line
    assert SECRET not in line


def test_gunicorn_error_log_redacts_the_secret(gunicorn_logger, tmp_path):
    gunicorn_logger.error("Error handling request %s", f"/-/v1/done?sessionId={SECRET}")

    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /-/v1/done?sessionId=[redacted]" in text
    assert SECRET not in text


def _gunicorn_command(script: str) -> list[str]:
    """The gunicorn command line in a Makefile recipe or a shell script."""
    joined = script.replace("\\\n", " ")
    line = next(line for line in joined.splitlines() if "bin/gunicorn" in line)
    start = line.rfind(" ", 0, line.index("bin/gunicorn")) + 1
    return shlex.split(line[start:].split("&")[0])


def test_make_run_starts_gunicorn_with_the_redacting_logger():
    makefile = (ROOT / "Makefile").read_text()
    run = re.search(r"^run:.*?(?=^\S)", makefile, re.M | re.S).group()

    command = _gunicorn_command(run)

    assert "--access-logfile" in command
    assert command[command.index("--logger-class") + 1] == LOGGER_CLASS


def test_the_benchmark_server_uses_the_redacting_logger_too():
    command = _gunicorn_command((ROOT / "bench" / "serve_gatehouse.sh").read_text())

    assert command[command.index("--logger-class") + 1] == LOGGER_CLASS


def test_djangos_request_log_of_an_expired_poll_url_has_no_secret(client, db, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/-/v1/otp/{SECRET}")

    assert response.status_code == 404
    assert "Not Found: /-/v1/otp/[redacted]" in caplog.messages
    assert SECRET not in caplog.text
