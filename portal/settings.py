"""Gatehouse settings: read from the environment only, once, failing loudly.

With no environment at all Gatehouse runs in its embedded mode: SQLite under ``var/``,
Celery tasks run in-process, email printed to the console, tarballs on the local disk.
Every variable is listed in ``.env.example`` and the README.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GATEHOUSE_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an absolute http(s) URL, not {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


DEBUG = env_bool("DEBUG", False)
EMBEDDED = "DATABASE_URL" not in os.environ

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set")
    # The embedded mode keeps a generated key under var/ so sessions survive restarts.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

# The public base URL of the registry: tarball URLs in packuments and the login URLs
# handed to the npm CLI are built from it, so it must be what users put in `registry=`.
# The default is `localhost`, not 127.0.0.1: security keys refuse an IP address as origin.
GATEHOUSE_URL = env_url("GATEHOUSE_URL", "http://localhost:8000/")
_gatehouse_host = urlsplit(GATEHOUSE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_gatehouse_host, "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a reverse proxy, the client address is the last X-Forwarded-For hop it added.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

INSTALLED_APPS = [
    "accounts.admin_site.AdminConfig",  # django.contrib.admin, for staff with a second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "registry",
]

MIDDLEWARE = [
    # A NUL byte in the path or query is refused before anything looks it up.
    "portal.input_guards.InputGuardMiddleware",
    # Packument and tarball reads are answered here, before the portal's middleware.
    "registry.fastpath.RegistryReadMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
# Registry routes like /<name> must never be redirected to /<name>/.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.gatehouse",
            ],
        },
    },
]

if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "gatehouse.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
else:
    try:
        DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL == "":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL or empty, not {CACHE_URL!r}")
# How many web processes serve Gatehouse (gunicorn's --workers; it reads WEB_CONCURRENCY
# too). With more than one and DEBUG off, a per-process cache stops the start
# (accounts.checks): rate limits would not be shared between the processes.
GATEHOUSE_WORKERS = env_int("GATEHOUSE_WORKERS", env_int("WEB_CONCURRENCY", 1))

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "registry:my-packages"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = GATEHOUSE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Whether anyone may create an account (portal sign-up, `npm adduser`).
GATEHOUSE_OPEN_SIGNUP = env_bool("GATEHOUSE_OPEN_SIGNUP", True)

# Second factors. WebAuthn needs a host name (not an IP address) as its relying party, so
# the portal must be reached at one of these origins for security keys to work.
_gatehouse_origin = "{0.scheme}://{0.netloc}".format(urlsplit(GATEHOUSE_URL))
GATEHOUSE_WEBAUTHN_ORIGINS = env_list("GATEHOUSE_WEBAUTHN_ORIGINS", [_gatehouse_origin])
OTP_WEBAUTHN_RP_NAME = "Gatehouse"
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.webauthn.relying_party_id"
OTP_WEBAUTHN_ALLOWED_ORIGINS = GATEHOUSE_WEBAUTHN_ORIGINS
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = True
OTP_TOTP_ISSUER = "Gatehouse"
# The admin never shows a factor's secret (TOTP keys, QR codes, key material).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# django-otp's own throttle doubles an app's wait after each wrong code without end, so
# anyone holding a password or token could lock a person's app for days. Code guesses are
# limited by accounts.ratelimit instead: per address, and per account with a capped delay.
OTP_TOTP_THROTTLE_FACTOR = 0
# How long a second factor counts as fresh for sensitive actions (sudo mode).
GATEHOUSE_SUDO_SECONDS = env_int("GATEHOUSE_SUDO_SECONDS", 300)
# How long the second-factor step of a sign-in may wait after the password step.
GATEHOUSE_LOGIN_STEP_SECONDS = env_int("GATEHOUSE_LOGIN_STEP_SECONDS", 300)
# How long the npm CLI's security-key approval (web OTP) stays open.
GATEHOUSE_WEB_OTP_TTL_SECONDS = env_int("GATEHOUSE_WEB_OTP_TTL_SECONDS", 300)

# Staged releases: how long one waits for approval, and when its approvers are reminded.
GATEHOUSE_STAGE_TTL_HOURS = env_int("GATEHOUSE_STAGE_TTL_HOURS", 7 * 24)
GATEHOUSE_STAGE_REMIND_HOURS = env_int("GATEHOUSE_STAGE_REMIND_HOURS", 24)

# How long an invitation to join an organization stays open.
GATEHOUSE_INVITATION_DAYS = env_int("GATEHOUSE_INVITATION_DAYS", 14)

# Size limits for publishing; the body carries the tarball base64-encoded in JSON.
GATEHOUSE_MAX_TARBALL_BYTES = env_int("GATEHOUSE_MAX_TARBALL_BYTES", 64 * 1024 * 1024)
GATEHOUSE_MAX_UNPACKED_BYTES = env_int("GATEHOUSE_MAX_UNPACKED_BYTES", 256 * 1024 * 1024)
GATEHOUSE_MAX_TARBALL_MEMBERS = env_int("GATEHOUSE_MAX_TARBALL_MEMBERS", 20_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEHOUSE_MAX_TARBALL_BYTES * 4 // 3 + 2 * 1024 * 1024
# How long after publishing a version may be unpublished without further conditions.
GATEHOUSE_UNPUBLISH_WINDOW_HOURS = env_int("GATEHOUSE_UNPUBLISH_WINDOW_HOURS", 72)
# How long the npm CLI's web login waits for the person to confirm in the browser.
GATEHOUSE_WEB_LOGIN_TTL_SECONDS = env_int("GATEHOUSE_WEB_LOGIN_TTL_SECONDS", 600)

# Memory each web process may use to keep public packuments and small tarballs (0: off).
GATEHOUSE_READ_CACHE_MB = env_int("GATEHOUSE_READ_CACHE_MB", 64)
# Where public packuments and tarballs are mirrored as files for a front proxy (empty: off).
GATEHOUSE_MIRROR_DIR = env_str("GATEHOUSE_MIRROR_DIR", "")

# Tarball storage goes through Django's storage API: the local disk by default, any
# S3-compatible store with GATEHOUSE_STORAGE=s3 (pip install '.[s3]' and the AWS_* variables).
GATEHOUSE_STORAGE = env_str("GATEHOUSE_STORAGE", "filesystem")
GATEHOUSE_TARBALL_DIR = Path(env_str("GATEHOUSE_TARBALL_DIR", str(VAR_DIR / "tarballs")))
if GATEHOUSE_STORAGE == "filesystem":
    _tarball_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": GATEHOUSE_TARBALL_DIR, "file_permissions_mode": 0o640},
    }
elif GATEHOUSE_STORAGE == "s3":
    _tarball_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(
        f"GATEHOUSE_STORAGE must be filesystem or s3, not {GATEHOUSE_STORAGE!r}"
    )

_manifest_static = env_bool("GATEHOUSE_MANIFEST_STATIC", not DEBUG and not EMBEDDED)
# Without collected, hashed files (embedded mode, tests) whitenoise serves from the source folders.
WHITENOISE_USE_FINDERS = not _manifest_static
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# whitenoise warns about a missing root (before `collectstatic` has run, or in tests).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "tarballs": _tarball_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _manifest_static
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Gatehouse <gatehouse@localhost>")

# Celery: with no broker, tasks run in-process as soon as they are enqueued.
CELERY_TASK_ALWAYS_EAGER = env_str("CELERY_BROKER_URL", "") == ""
# Even eager tasks open a producer; the in-memory transport keeps that off the network.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "blobs-collect": {"task": "registry.tasks.blobs_collect", "schedule": 3600.0},
    "web-logins-purge": {"task": "accounts.tasks.web_logins_purge", "schedule": 600.0},
    "staged-releases-sweep": {"task": "registry.tasks.staged_releases_sweep", "schedule": 300.0},
    "otp-challenges-purge": {"task": "accounts.tasks.otp_challenges_purge", "schedule": 600.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Strict JSON with bounded nesting: a hostile body is a 400, never a 500.
    "DEFAULT_PARSER_CLASSES": ["portal.input_guards.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "portal.exceptions.registry_exception_handler",
    # npm sends `?format=cli` on some lists; it is not a renderer choice.
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI schema of the REST API (/api/v1/schema/); the npm protocol is npm's to document.
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Manage organizations as code. Authenticate with the bearer token `npm login` "
    "gives; changes need a second factor in the `npm-otp` header when the person has one.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PREPROCESSING_HOOKS": ["portal.rest_urls.api_endpoints_only"],
    "COMPONENT_SPLIT_REQUEST": True,
    # accounts.authentication.TokenAuthentication; every operation names it (registry.orgs.rest).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "npmToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The token `npm login` gives (or one from `npm token create`).",
            }
        }
    },
}

# Content-Security-Policy: no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Some URLs carry secrets (the npm CLI's poll URLs, e-mailed links): django.request logs
# the path of every 4xx, so records lose them first (portal.log_redaction). gunicorn's own
# logs go through portal.gunicorn_logging (`--logger-class`, see the Makefile).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "portal.log_redaction.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["redact_secrets"]},
        "django.server": {"level": "WARNING", "filters": ["redact_secrets"]},
    },
}
