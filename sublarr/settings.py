"""Sublarr settings, read from the environment (see README "Settings").

Two profiles, chosen by ``REDIS_URL``:

* embedded (unset): SQLite in ``SUBLARR_DATA_DIR``, django-q2's ORM broker, a
  file cache and a SQLite channel layer that every process on the machine
  shares;
* scale-out (set): channels_redis, Django's RedisCache and django-q2's Redis
  broker, normally with a PostgreSQL ``DATABASE_URL``.

Every variable is read through ``sublarr.env``: a bad value stops manage.py,
daphne and qcluster alike with one line naming the variable.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from sublarr.env import (
    env_bool,
    env_choice,
    env_database_url,
    env_dir,
    env_file,
    env_int,
    env_list,
    env_redis_url,
    env_seconds_list,
    env_str,
    load_or_create_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Paths -----------------------------------------------------------------

DATA_DIR = env_dir("SUBLARR_DATA_DIR", BASE_DIR / "data")
HOOKS_DIR = Path(env_str("SUBLARR_HOOKS_DIR") or DATA_DIR / "hooks").resolve()
LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(exist_ok=True)

# --- Core ------------------------------------------------------------------

SECRET_KEY = env_str("SECRET_KEY") or load_or_create_secret_key(DATA_DIR / "secret_key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind HTTPS (directly or through a proxy that sets X-Forwarded-Proto):
# secure cookies, HSTS and a redirect. Off by default because most self-hosted
# installs are reached over plain HTTP on the LAN.
if env_bool("SUBLARR_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SUBLARR_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's assets, pinned and served from here (no CDN: LAN boxes are often offline).
    "drf_spectacular_sidecar",
    "django_q",
    "sublarr",
    "events",
    "hooks",
    "scoring",
    "incoming",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: keeps the chain synchronous under ASGI (one thread hop a request, not a dozen).
    "sublarr.middleware.SyncChainMiddleware",
]

ROOT_URLCONF = "sublarr.urls"
WSGI_APPLICATION = "sublarr.wsgi.application"
ASGI_APPLICATION = "sublarr.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------

# SQLite serves a server and several queue workers at once only with WAL (readers
# never block the writer), IMMEDIATE transactions (a writer takes the lock at
# BEGIN instead of failing on upgrade mid-transaction, which busy_timeout cannot
# retry) and a generous busy timeout. Measured in bench/queue.py (docs/PERFORMANCE.md).
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
}

# Persistent connections: django-q2's ORM broker otherwise reconnects for
# every enqueue (~12 ms per async_task on PostgreSQL here, ~0.5 ms kept).
_default_db = env_database_url("DATABASE_URL", conn_max_age=600, conn_health_checks=True)
if _default_db is None:
    _default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "sublarr.sqlite3"),
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
if _default_db["ENGINE"] == "django.db.backends.postgresql":
    # Parameters sent apart from the query (psycopg 3's server-side binding)
    # instead of merged into its text in Python: that merging was ~15 % of a
    # queue worker's time (py-spy), and webhook delivery is ~15-20 % faster
    # without it (bench.webhooks). Prepared statements stay off
    # (Django's default prepare_threshold=None), so PgBouncer in transaction
    # mode still works. ``?server_side_binding=false`` in DATABASE_URL turns it off.
    _default_db.setdefault("OPTIONS", {}).setdefault("server_side_binding", True)
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    _default_db.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # A file (not :memory:) so that servers and workers started by tests share it.
    _default_db.setdefault("TEST", {})["NAME"] = str(DATA_DIR / "test_sublarr.sqlite3")
DATABASES = {"default": _default_db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / profiles ------------------------------------------------------

REDIS_URL = env_redis_url("REDIS_URL")
# Every Redis key this install writes starts with this prefix, so several
# installs (or test runs) can share one Redis server.
REDIS_PREFIX = env_str("SUBLARR_REDIS_PREFIX") or "sublarr"
PROFILE = "scale-out" if REDIS_URL else "embedded"

# Capacity of each channel-layer channel, in messages (the event stream uses
# one channel per server process, each message a batch of up to 100 events).
# Large enough for bursts; a server that falls this far behind loses
# messages, which its relay detects, counts and logs (see events.consumers).
CHANNEL_CAPACITY = env_int("SUBLARR_CHANNEL_CAPACITY", 5000, minimum=10)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # socket_timeout=None: redis-py's default 5 s socket timeout
                # equals the layer's 5 s blocking read, so every idle consumer
                # was dropped after ~5 s (channels_redis #422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": f"{REDIS_PREFIX}:asgi",
                "capacity": CHANNEL_CAPACITY,
                "expiry": 60,
                "group_expiry": 86400,
            },
        }
    }
    Q_BROKER = {"redis": REDIS_URL, "broker_class": "sublarr.brokers.Redis"}
else:
    CACHES = {
        "default": {
            # Shared by every process of the machine (not per-process LocMem):
            # what one process invalidates, the others stop using at once.
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }
    # The channel layer lives in its own SQLite file so its polling and
    # writes never contend with the main database's lock.
    DATABASES["channels"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "channels.sqlite3"),
        "OPTIONS": dict(SQLITE_OPTIONS),
        "TEST": {"NAME": str(DATA_DIR / "test_channels.sqlite3")},
    }
    DATABASE_ROUTERS = ["sublarr.db_router.EmbeddedChannelsRouter"]
    INSTALLED_APPS.append("channels_lite")
    CHANNEL_LAYERS = {
        "default": {
            # channels-lite's SQLite layer with a doorbell between the processes (sublarr.channel_layer).
            "BACKEND": "sublarr.channel_layer.EmbeddedChannelLayer",
            "CONFIG": {
                "database": "channels",
                "capacity": CHANNEL_CAPACITY,
                "expiry": 60,
                "polling_interval": 0.02,
            },
        }
    }
    Q_BROKER = {"orm": "default"}

# --- Queue (django-q2) -----------------------------------------------------

Q_CLUSTER = {
    "name": f"{REDIS_PREFIX}-q",
    "workers": env_int("SUBLARR_QUEUE_WORKERS", 2, minimum=1),
    # A task running longer than this is killed; an unacknowledged task is
    # handed out again after `retry` seconds (must exceed the timeout).
    "timeout": 300,
    "retry": 360,
    "max_attempts": 3,
    # Successful results are not kept (-1): nothing here relies on django-q2's
    # result rows (hooks keep their own log), and its pruning of old results
    # failed with "database is locked" on SQLite while the task was already
    # acknowledged — a silently lost result. Failures are still saved.
    "save_limit": -1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    # ORM broker: claim up to 10 queued tasks per poll query instead of 1
    # (bench.webhooks, embedded, 1 webhook/event: ~+10 %; the Redis broker ignores it).
    "bulk": 10,
    "label": "Task queue",
    **Q_BROKER,
}

# --- Auth, API -------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parser with a nesting limit: deep JSON is a 400, not a RecursionError (events.jsonlimits).
    "DEFAULT_PARSER_CLASSES": ["events.jsonlimits.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "events.api_errors.exception_handler",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    # Webhooks and notifications share the event names plus "*": one component name for the set.
    "ENUM_NAME_OVERRIDES": {"TargetEventNameEnum": "hooks.validators.TARGET_EVENT_CHOICES"},
    "TITLE": "Sublarr API",
    "DESCRIPTION": "Events, script hooks, outgoing webhooks and subtitle scoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The incoming endpoint is a plain Django view: its operation is added after generation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "incoming.api_schema.add_receive_operation",
    ],
}

# --- Sublarr ---------------------------------------------------------------

SUBLARR_VERSION = "1.0.0"
SUBLARR_WEBHOOK_ALLOW_LOOPBACK = env_bool("SUBLARR_WEBHOOK_ALLOW_LOOPBACK", False)
SUBLARR_WEBHOOK_BLOCK_PRIVATE = env_bool("SUBLARR_WEBHOOK_BLOCK_PRIVATE", False)
SUBLARR_EVENT_MAX_BODY_BYTES = env_int("SUBLARR_EVENT_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# An open WebSocket's token, session and user are checked again this often (seconds).
SUBLARR_WS_AUTH_RECHECK_SECONDS = env_int("SUBLARR_WS_AUTH_RECHECK_SECONDS", 60, minimum=1)
SUBLARR_HOOK_LOG_RETENTION_DAYS = env_int("SUBLARR_HOOK_LOG_RETENTION_DAYS", 30, minimum=1)
SUBLARR_SCRIPT_OUTPUT_CAP = env_int("SUBLARR_SCRIPT_OUTPUT_CAP", 4096, minimum=0)
# Webhook delivery (hooks/delivery/, docs/HOOKS.md): seconds before retry 1, 2, …
# (the last value repeats; each gets ±20 % jitter), the Retry-After ceiling, the
# response bytes kept in the log, failed deliveries in a row before a webhook
# is disabled (0 = never), deliveries run at once per worker process (and per
# webhook), lease slack past the timeout, the idle re-scan interval, and how
# stale a process's "is anything subscribed?" snapshot may get.
SUBLARR_WEBHOOK_RETRY_SCHEDULE = env_seconds_list(
    "SUBLARR_WEBHOOK_RETRY_SCHEDULE", [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0]
)
SUBLARR_WEBHOOK_RETRY_AFTER_MAX = env_int("SUBLARR_WEBHOOK_RETRY_AFTER_MAX", 3600, minimum=1)
SUBLARR_WEBHOOK_RESPONSE_CAP = env_int("SUBLARR_WEBHOOK_RESPONSE_CAP", 2048, minimum=0)
# CA certificates (PEM) trusted for https:// webhooks; empty = certifi's bundle.
# Set it to trust a LAN's own CA (a self-signed Home Assistant, say).
SUBLARR_WEBHOOK_CA_BUNDLE = env_file("SUBLARR_WEBHOOK_CA_BUNDLE", "a PEM file of CA certificates")
SUBLARR_WEBHOOK_DISABLE_AFTER = env_int("SUBLARR_WEBHOOK_DISABLE_AFTER", 10, minimum=0)
SUBLARR_DELIVERY_CONCURRENCY = env_int("SUBLARR_DELIVERY_CONCURRENCY", 16, minimum=1)
SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY = env_int("SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY", 4, minimum=1)
SUBLARR_DELIVERY_LEASE_GRACE_SECONDS = env_int("SUBLARR_DELIVERY_LEASE_GRACE_SECONDS", 60, minimum=1)
SUBLARR_DELIVERY_SWEEP_SECONDS = env_int("SUBLARR_DELIVERY_SWEEP_SECONDS", 10, minimum=1)
SUBLARR_WORKER_HEARTBEAT_SECONDS = env_int("SUBLARR_WORKER_HEARTBEAT_SECONDS", 5, minimum=1)
SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS = env_int("SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS", 1000, minimum=0)
# Script hooks running at once on this machine (all processes together), and
# how long a run waits for a free slot before failing (docs/HOOKS.md).
SUBLARR_SCRIPT_CONCURRENCY = env_int("SUBLARR_SCRIPT_CONCURRENCY", 4, minimum=1)
SUBLARR_SCRIPT_SLOT_WAIT_SECONDS = env_int("SUBLARR_SCRIPT_SLOT_WAIT_SECONDS", 60, minimum=0)
# Incoming webhooks (incoming/, docs/INCOMING.md): the largest body accepted
# (413 above), and how long request records are kept (purged daily).
SUBLARR_INCOMING_MAX_BODY_BYTES = env_int("SUBLARR_INCOMING_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
SUBLARR_INCOMING_LOG_RETENTION_DAYS = env_int("SUBLARR_INCOMING_LOG_RETENTION_DAYS", 30, minimum=1)

# --- I18N, static ----------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Filled by collectstatic; present from the start so whitenoise does not warn before that.
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Logging ---------------------------------------------------------------

LOG_LEVEL = env_choice("SUBLARR_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
# django-q2 logs every enqueue at INFO ("Enqueued [sublarr-q] 1"): the queue
# worker's log wants its INFO lines; the stderr of a command (emit_event) or
# of the server does not. The queue worker is the one started as qcluster.
QUEUE_LOG_LEVEL = LOG_LEVEL if sys.argv[1:2] == ["qcluster"] else max(LOG_LEVEL, "WARNING", key=logging.getLevelName)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "file": {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(LOG_DIR / "sublarr.log"),
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console", "file"], "level": "WARNING"},
    "loggers": {
        "events": {"level": LOG_LEVEL},
        "hooks": {"level": LOG_LEVEL},
        "scoring": {"level": LOG_LEVEL},
        "incoming": {"level": LOG_LEVEL},
        "django-q": {"level": QUEUE_LOG_LEVEL},
    },
}
