"""Django settings: every value comes from an environment variable (see README's table)."""

from __future__ import annotations

import os
import socket
import sys
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from emotionsite.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_rate,
    env_str,
    parse_database_url,
    read_env_file,
    read_secret_file,
    s3_origin,
)
from emotionsite.proxy import parse_networks
from emotionsite.queues import TASK_ROUTES, Queue, QueueTimeLimits

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("EMOTION_VAR_DIR", str(BASE_DIR / "var")))

# The embedded-services supervisor writes the URLs of the servers it started here, so that
# `manage.py shell` and friends find them too while the stack runs.
_embedded = read_env_file(VAR_DIR / "services.env")

DEBUG = env_bool("DEBUG", False)
# Under pytest the dev-only keys below are allowed even with DEBUG off (pytest-django turns it off).
TESTING = "pytest" in sys.modules

# Secrets: from the environment, else the per-install files scripts/setup.sh (run.sh) generates once in
# var/secrets/, so that `manage.py` beside the stack uses the same keys. Public dev keys only as a last
# resort, with DEBUG on or under pytest.
_SECRETS_DIR = VAR_DIR / "secrets"
_NO_SECRET = "{} must be set when DEBUG is off (or run scripts/setup.sh once: it generates {})"
SECRET_KEY = env_str("SECRET_KEY", "") or read_secret_file(_SECRETS_DIR / "secret_key")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(_NO_SECRET.format("SECRET_KEY", _SECRETS_DIR / "secret_key"))
    SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"

# Fernet key(s) for secrets stored in the database (e.g. users' remote LLM API keys), separate from
# SECRET_KEY. Comma-separated: the first encrypts, all decrypt, so keys can be rotated.
FERNET_KEYS = env_list("EMOTION_FERNET_KEYS") or [
    key.strip() for key in read_secret_file(_SECRETS_DIR / "fernet_keys").split(",") if key.strip()
]
if not FERNET_KEYS:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(_NO_SECRET.format("EMOTION_FERNET_KEYS", _SECRETS_DIR / "fernet_keys"))
    FERNET_KEYS = ["ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcy0hISE="]  # dev only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("EMOTION_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
    # the project's rooms, lower first: each may import those above it in this list, never those below
    # (docs/architecture.md, "Rooms")
    "audit",
    "accounts",
    "api_tokens",
    "projects",
    "sessions_app",
    "people",
    "live",
    "summaries",
    "studies",
]

MIDDLEWARE = [
    "emotionsite.https_redirect.HttpsPortRedirectMiddleware",  # HTTP -> EMOTION_HTTPS_PORT, not the HTTP port
    "django.middleware.security.SecurityMiddleware",
    "emotionsite.apijson.api_json_errors",  # every error under /api/ answered as JSON (HTML 404s, empty 400s...)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",  # keeps a policy a view set itself (media: sandbox)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "emotionsite.ratelimit.RateLimitMiddleware",  # a page over a limit answers 429 with Retry-After
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.login_guard.LoginSlowdownMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "emotionsite.urls"
ASGI_APPLICATION = "emotionsite.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", _embedded.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/emotion"))
DATABASES = {"default": parse_database_url(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("EMOTION_DB_CONN_MAX_AGE", 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", _embedded.get("REDIS_URL", "redis://127.0.0.1:6379/0"))

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "emotionsite.channel_layer.PatientRedisChannelLayer",  # waits out a Redis restart
        # redis-py's default 5 s read timeout equals channels_redis' 5 s BZPOPMIN: a consumer idle in a
        # group for 5 s would then die with "Timeout reading"; keep the read timeout well above it.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": env_str("EMOTION_CHANNELS_PREFIX", "emotion"),
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "api_tokens.password.RevokeApiTokensOnPasswordChange"},  # refuses nothing: revokes API tokens
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): after N failures for one username from one address, locked for a while.
REST_FRAMEWORK = {
    # token first, so an anonymous request is answered 401 with a WWW-Authenticate header
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api_tokens.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # rates from EMOTION_LIMITS ("api" per user, "api_anon" per address); 429 with Retry-After
    "DEFAULT_THROTTLE_CLASSES": ["emotionsite.ratelimit.ApiThrottle"],
    # 429 for the rate limits' refusals, a `detail` in every error body (emotionsite/apijson.py)
    "EXCEPTION_HANDLER": "emotionsite.apijson.exception_handler",
}
# API tokens (django-rest-knox, api_tokens/): only SHA-512 digests are stored; `Authorization: Token <key>`.
KNOX_TOKEN_MODEL = "api_tokens.ApiToken"
# knox's migrations create its own token table even when its model is swapped out: skip them (there is no
# knox table to keep; a dangling one referencing users would break deleting users and test flushes).
MIGRATION_MODULES = {"knox": None}
_TOKEN_TTL_DAYS = env_int("EMOTION_API_TOKEN_TTL_DAYS", 90)  # 0: tokens never expire
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",  # the header DRF's tokens used, so clients keep working
    "TOKEN_TTL": timedelta(days=_TOKEN_TTL_DAYS) if _TOKEN_TTL_DAYS > 0 else None,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Emotion sessions API",
    "DESCRIPTION": "Upload videos, read sessions, the people seen in them and their emotion timelines.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the schema and docs hold no user data
    "SWAGGER_UI_DIST": "SIDECAR",  # Swagger UI from drf-spectacular-sidecar's static files: offline, CSP-clean
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # request bodies get their own components (minLength of required text, no read-only fields)
    "COMPONENT_SPLIT_REQUEST": True,
    # every operation: its required role (x-required-role) and the statuses any request can get, as JSON errors
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "emotionsite.apijson.postprocess_schema",
    ],
}

AXES_FAILURE_LIMIT = env_int("EMOTION_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("EMOTION_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# And per username from any address: a doubling delay (1 s up to the max) after N failures in the window.
EMOTION_LOGIN_USERNAME_FAILURE_LIMIT = env_int("EMOTION_LOGIN_USERNAME_FAILURE_LIMIT", 20)
EMOTION_LOGIN_USERNAME_WINDOW_MINUTES = env_int("EMOTION_LOGIN_USERNAME_WINDOW_MINUTES", 15)
EMOTION_LOGIN_USERNAME_MAX_DELAY_SECONDS = env_int("EMOTION_LOGIN_USERNAME_MAX_DELAY_SECONDS", 60)
# A read of another user's data is audited once per viewer, object and kind in this many minutes (0: every read).
EMOTION_AUDIT_READ_WINDOW_MINUTES = max(0, env_int("EMOTION_AUDIT_READ_WINDOW_MINUTES", 60))
# days a project invitation link stays usable (projects.invitations), at least 1
EMOTION_INVITATION_DAYS = max(1, env_int("EMOTION_INVITATION_DAYS", 7))
# The person page crops each track's faces from the session's original on demand (a copy per track);
# not for originals above this many megabytes (0: never).
EMOTION_TRACK_FACES_MAX_MB = max(0, env_int("EMOTION_TRACK_FACES_MAX_MB", 500))

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("EMOTION_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("EMOTION_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Media (uploads, playable copies, recordings, thumbnails): the local disk under MEDIA_ROOT, or an
# S3-compatible bucket (docs/architecture.md "Media storage") that web machines and workers on other
# hosts share; every read and write goes through default_storage (emotionsite/mediastore.py).
EMOTION_MEDIA_STORAGE = env_choice("EMOTION_MEDIA_STORAGE", ("local", "s3"), "local")
EMOTION_S3_ENDPOINT_URL = env_str("EMOTION_S3_ENDPOINT_URL").strip()  # empty: AWS itself
EMOTION_S3_BUCKET = env_str("EMOTION_S3_BUCKET").strip()
# media views redirect to a short-lived presigned URL instead of streaming through the web machine
EMOTION_MEDIA_SIGNED_URLS = env_bool("EMOTION_MEDIA_SIGNED_URLS", False) and EMOTION_MEDIA_STORAGE == "s3"
EMOTION_MEDIA_SIGNED_URL_SECONDS = max(1, env_int("EMOTION_MEDIA_SIGNED_URL_SECONDS", 300))
_media_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if EMOTION_MEDIA_STORAGE == "s3":
    if not EMOTION_S3_BUCKET:
        raise ImproperlyConfigured("EMOTION_MEDIA_STORAGE=s3 needs EMOTION_S3_BUCKET")
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EMOTION_S3_BUCKET,
            "endpoint_url": EMOTION_S3_ENDPOINT_URL or None,
            "region_name": env_str("EMOTION_S3_REGION").strip() or None,
            # None: boto3's own chain (environment, instance role); the _FILE variants suit secrets
            "access_key": env_str("EMOTION_S3_ACCESS_KEY_ID").strip() or None,
            "secret_key": env_str("EMOTION_S3_SECRET_ACCESS_KEY").strip() or None,
            "default_acl": None,  # the bucket's own (private): nothing is public
            "querystring_auth": True,
            "querystring_expire": EMOTION_MEDIA_SIGNED_URL_SECONDS,
            "file_overwrite": False,  # like the disk: a name in use gets a suffix, never replaced
            "signature_version": "s3v4",
            # path-style for S3-compatible servers (MinIO, Ceph, moto) that have no per-bucket host names
            "addressing_style": "path" if EMOTION_S3_ENDPOINT_URL else None,
        },
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: the largest video accepted, and the size Django keeps in memory before spooling to disk.
EMOTION_UPLOAD_MAX_BYTES = env_int("EMOTION_UPLOAD_MAX_MB", 2048) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("EMOTION_REQUEST_MAX_MB", 10) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# The replay's face boxes (timeline API ``?boxes=1``): past this many, only every k-th sampled frame is sent.
EMOTION_REPLAY_MAX_BOXES = max(1, env_int("EMOTION_REPLAY_MAX_BOXES", 30000))

# Limits on expensive work (emotionsite/ratelimit.py, docs/architecture.md "Limits"): "N/second|minute|hour|day"
# or "off"; per user, sign-ups and anonymous API requests per address. Over a limit: 429 with Retry-After.
EMOTION_LIMITS = {
    "summaries": env_rate("EMOTION_LIMIT_SUMMARIES", "20/hour"),
    "uploads": env_rate("EMOTION_LIMIT_UPLOADS", "30/hour"),
    "upload_resumes": env_rate("EMOTION_LIMIT_UPLOAD_RESUMES", "120/hour"),  # websocket resumes (takeovers)
    "reanalysis": env_rate("EMOTION_LIMIT_REANALYSIS", "30/hour"),
    "live": env_rate("EMOTION_LIMIT_LIVE", "20/hour"),
    "signups": env_rate("EMOTION_LIMIT_SIGNUPS", "10/hour"),
    "llm_settings": env_rate("EMOTION_LIMIT_LLM_SETTINGS", "20/hour"),  # saves: each resolves a host name
    "api": env_rate("EMOTION_LIMIT_API", "600/minute"),
    "api_anon": env_rate("EMOTION_LIMIT_API_ANON", "60/minute"),
    "healthz": env_rate("EMOTION_LIMIT_HEALTHZ", "60/minute"),  # per address, or per user when signed in
}
EMOTION_LIMIT_ACTIVE_SUMMARIES = env_int("EMOTION_LIMIT_ACTIVE_SUMMARIES", 3)  # queued or running, per user
EMOTION_LIMIT_ACTIVE_LLM_SUMMARIES = env_int("EMOTION_LIMIT_ACTIVE_LLM_SUMMARIES", 1)  # of those, local/remote LLM
EMOTION_LIMIT_ACTIVE_LIVE = env_int("EMOTION_LIMIT_ACTIVE_LIVE", 2)  # live recordings at once, per user
_MB = 1024 * 1024
EMOTION_STAGING_QUOTA_BYTES = env_int("EMOTION_STAGING_QUOTA_MB", 2 * env_int("EMOTION_UPLOAD_MAX_MB", 2048)) * _MB
EMOTION_STAGING_MAX_AGE_HOURS = env_int("EMOTION_STAGING_MAX_AGE_HOURS", 24)  # then an unfinished upload goes
EMOTION_LIVE_MAX_BYTES = env_int("EMOTION_LIVE_MAX_MB", 2048) * _MB  # one live recording's file
EMOTION_WS_MAX_MESSAGE_BYTES = env_int("EMOTION_WS_MAX_MESSAGE_MB", 2) * _MB  # also Daphne's flag in run.sh
EMOTION_LLM_REPLY_MAX_BYTES = env_int("EMOTION_LLM_REPLY_MAX_KB", 1024) * 1024  # a remote LLM's whole reply
# what a project's files may take together (sessions_app/services/storage_quota.py; staff set it per project
# in the admin; 0: no quota), and the free space under which new uploads and recordings are refused
EMOTION_STORAGE_QUOTA_BYTES = env_int("EMOTION_STORAGE_QUOTA_MB", 20480) * _MB
EMOTION_DISK_MIN_FREE_BYTES = env_int("EMOTION_DISK_MIN_FREE_MB", 1024) * _MB
EMOTION_HEALTHZ_CACHE_SECONDS = env_int("EMOTION_HEALTHZ_CACHE_SECONDS", 5)  # /healthz's worker picture (0: none)
# threads of each Daphne process for the consumers' blocking file work (emotionsite/threadpools.py): whole
# files (ingest's probe and copy, storing a recording), and short operations (chunk writes) apart from them
EMOTION_WEB_FILE_THREADS = max(1, env_int("EMOTION_WEB_FILE_THREADS", 2))
EMOTION_WEB_IO_THREADS = max(1, env_int("EMOTION_WEB_IO_THREADS", 4))

# Sessions: websocket uploads are staged here (per user) until complete and probed; analysis
# samples videos at EMOTION_DEFAULT_SAMPLE_FPS and cuts them into segments under a lease.
EMOTION_STAGING_DIR = Path(env_str("EMOTION_STAGING_DIR", str(VAR_DIR / "staging")))
# this web machine's name: a resumed upload or recording staged on another one is refused (sticky /ws/)
EMOTION_WEB_NODE = env_str("EMOTION_WEB_NODE", socket.gethostname()).strip() or socket.gethostname()
EMOTION_DEFAULT_SAMPLE_FPS = float(env_str("EMOTION_DEFAULT_SAMPLE_FPS", "5"))
EMOTION_SEGMENT_SECONDS = env_int("EMOTION_SEGMENT_SECONDS", 20)
# blinks: eye visibility on every source frame between the sampled ones (docs/measures.md)
EMOTION_BLINKS = env_bool("EMOTION_BLINKS", True)
EMOTION_SEGMENT_LEASE_SECONDS = env_int("EMOTION_SEGMENT_LEASE_SECONDS", 120)
EMOTION_SEGMENT_MAX_ATTEMPTS = env_int("EMOTION_SEGMENT_MAX_ATTEMPTS", 4)  # then the session fails
# Longest video accepted (its frames' timestamps, not the container's claim), and how many segments of
# one user's uploads may be queued or running at once (each finished one queues the next: fair queues).
EMOTION_MAX_DURATION_SECONDS = env_int("EMOTION_MAX_DURATION_MINUTES", 240) * 60
EMOTION_SEGMENTS_PER_USER = max(1, env_int("EMOTION_SEGMENTS_PER_USER", 2))

# Where workers run the vision models: auto picks CUDA when present.
# faces below this quality (inference.quality, 0..1) are shaded and left out of means by default
EMOTION_MIN_FACE_QUALITY = float(env_str("EMOTION_MIN_FACE_QUALITY", "0.25"))
EMOTION_WORKER_DEVICE = env_choice("EMOTION_WORKER_DEVICE", ("auto", "cpu", "cuda"), "auto")
os.environ.setdefault("EMOTION_WORKER_DEVICE", EMOTION_WORKER_DEVICE)  # the Django-free engine reads it
EMOTION_WORKER_WARMUP = env_bool("EMOTION_WORKER_WARMUP", True)
EMOTION_WORKER_BEAT_SECONDS = env_int("EMOTION_WORKER_BEAT_SECONDS", 10)  # workers publish host, load, weights

# Summaries' LLM backends (summaries/backends/). The local model: a Hugging Face name or a local folder;
# empty = tiiuae/falcon-7b-instruct on a CUDA worker, Qwen/Qwen2.5-1.5B-Instruct on a CPU-only one.
EMOTION_LOCAL_LLM_MODEL = env_str("EMOTION_LOCAL_LLM_MODEL", "").strip()
EMOTION_LLM_ALLOW_DOWNLOAD = env_bool("EMOTION_LLM_ALLOW_DOWNLOAD", False)  # off: no network at run time
EMOTION_LOCAL_LLM_DEVICE = env_choice("EMOTION_LOCAL_LLM_DEVICE", ("auto", "cpu", "cuda"), "auto")
EMOTION_LOCAL_LLM_CPU_DTYPE = env_choice("EMOTION_LOCAL_LLM_CPU_DTYPE", ("auto", "bfloat16", "float32"), "auto")
EMOTION_LLM_CONNECT_TIMEOUT = float(env_str("EMOTION_LLM_CONNECT_TIMEOUT", "10"))  # seconds, remote LLM
EMOTION_LLM_READ_TIMEOUT = float(env_str("EMOTION_LLM_READ_TIMEOUT", "120"))  # seconds between bytes
# seconds for a whole request and reply: a server dripping bytes cannot hold the one summaries process
EMOTION_LLM_TOTAL_TIMEOUT = float(env_str("EMOTION_LLM_TOTAL_TIMEOUT", "120"))
EMOTION_LLM_STREAM = env_bool("EMOTION_LLM_STREAM", True)  # stream remote replies (progress, cancel)
EMOTION_LLM_CA_BUNDLE = env_str("EMOTION_LLM_CA_BUNDLE", "")  # PEM file of a private CA for https LLMs

# Celery (read by emotionsite/celery.py with namespace CELERY). Time limits in seconds.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_TIME_LIMIT = env_int("EMOTION_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("EMOTION_TASK_SOFT_TIME_LIMIT", CELERY_TASK_TIME_LIMIT - 30)
EMOTION_LIVE_TIME_LIMIT = env_int("EMOTION_LIVE_TIME_LIMIT", 30)
# Largest live frame decoded (pixels, read from the JPEG header first): 16.8 MP covers 4096x4096 webcams.
EMOTION_LIVE_MAX_PIXELS = env_int("EMOTION_LIVE_MAX_PIXELS", 4096 * 4096)
# A live socket closed without Stop may resume this long before the recording is finished as it is.
EMOTION_LIVE_RESUME_GRACE_SECONDS = env_int("EMOTION_LIVE_RESUME_GRACE_SECONDS", 30)
# Processes of the live worker run.sh starts (each serves recordings one frame at a time): one per core.
EMOTION_LIVE_PROCESSES = env_int("EMOTION_LIVE_PROCESSES", os.cpu_count() or 1)
EMOTION_SUMMARY_TIME_LIMIT = env_int("EMOTION_SUMMARY_TIME_LIMIT", 1800)
EMOTION_SUMMARY_MAX_NEW_TOKENS = env_int("EMOTION_SUMMARY_MAX_NEW_TOKENS", 400)  # length cap of an LLM summary
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT.value
CELERY_TASK_ROUTES = (TASK_ROUTES,)
CELERY_TASK_ANNOTATIONS = [
    QueueTimeLimits({Queue.LIVE.value: EMOTION_LIVE_TIME_LIMIT, Queue.SUMMARIES.value: EMOTION_SUMMARY_TIME_LIMIT})
]
CELERY_TASK_ACKS_LATE = False  # idempotent tasks opt in with acks_late=True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process loads the vision models in worker_process_init (seconds on a busy CPU); Celery's
# default 4 s start-up limit would kill every replacement of a crashed pool process in a loop.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env_int("EMOTION_WORKER_PROC_ALIVE_TIMEOUT", 120)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged task is redelivered after this: keep it above the longest task's hard limit.
_VISIBILITY = max(CELERY_TASK_TIME_LIMIT, EMOTION_LIVE_TIME_LIMIT, EMOTION_SUMMARY_TIME_LIMIT) + 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY}
# Periodic tasks (Celery beat, started by scripts/run.sh): media retention, every EMOTION_RETENTION_INTERVAL s.
EMOTION_RETENTION_INTERVAL = env_int("EMOTION_RETENTION_INTERVAL", 3600)
CELERY_BEAT_SCHEDULE = {
    "apply-retention": {"task": "sessions_app.apply_retention", "schedule": float(EMOTION_RETENTION_INTERVAL)},
    # live recordings whose socket vanished without a disconnect (Daphne killed) are kept and finished
    "reap-live": {"task": "sessions_app.reap_live", "schedule": 60.0},
    # unfinished uploads untouched for EMOTION_STAGING_MAX_AGE_HOURS are deleted
    "clean-staging": {"task": "sessions_app.clean_staging", "schedule": 3600.0},
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY}

# Security: on whenever DEBUG is off (outside tests), each one switchable, e.g. behind a TLS proxy.
_HARDEN = not (DEBUG or TESTING)
SECURE_SSL_REDIRECT = env_bool("EMOTION_SECURE_SSL_REDIRECT", _HARDEN)
SESSION_COOKIE_SECURE = env_bool("EMOTION_SECURE_COOKIES", _HARDEN)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("EMOTION_HSTS_SECONDS", 31536000 if _HARDEN else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("EMOTION_HSTS_INCLUDE_SUBDOMAINS", _HARDEN)
SECURE_HSTS_PRELOAD = env_bool("EMOTION_HSTS_PRELOAD", _HARDEN)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response that has none of its own: scripts and styles only
# from the site's files (no inline code or style attributes), websockets to the site (`'self'` does not
# cover ws:/wss: in every browser), no framing, plugins or foreign form targets.
# with signed media URLs the pages' <img>/<video> load from the bucket's origin
_SIGNED_MEDIA_ORIGINS = (
    [s3_origin(EMOTION_S3_ENDPOINT_URL) if EMOTION_S3_ENDPOINT_URL else "https://*.amazonaws.com"]
    if EMOTION_MEDIA_SIGNED_URLS
    else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *_SIGNED_MEDIA_ORIGINS],
        "media-src": [SELF, "blob:", *_SIGNED_MEDIA_ORIGINS],
        "connect-src": [SELF, "ws:", "wss:"],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Client address and scheme from X-Forwarded-For/-Proto only behind a proxy, and only from these peers
# (addresses or CIDRs): applied by emotionsite.proxy.TrustedProxyMiddleware alone, so no
# SECURE_PROXY_SSL_HEADER (it would trust the header from any peer).
EMOTION_BEHIND_PROXY = env_bool("EMOTION_BEHIND_PROXY", False)
EMOTION_TRUSTED_PROXIES = env_list("EMOTION_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
try:
    parse_networks(EMOTION_TRUSTED_PROXIES)
except ValueError as exc:
    raise ImproperlyConfigured(f"EMOTION_TRUSTED_PROXIES: {exc}") from None
# Daphne serving HTTPS itself (run.sh with EMOTION_HTTPS=1): HTTP is redirected to this port, not to
# the HTTP request's own port. None: to the request's host as it came (a proxy on the standard ports).
EMOTION_HTTPS_REDIRECT_PORT = env_int("EMOTION_HTTPS_PORT", 8443) if env_bool("EMOTION_HTTPS", False) else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"secret_paths": {"()": "emotionsite.logredact.SecretPaths"}},  # no invitation token in a log
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["secret_paths"]}},
    "root": {"handlers": ["console"], "level": env_str("EMOTION_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # on the logger too: Django's own console handler (DEBUG) also writes its records
        "django.request": {"filters": ["secret_paths"]},
        "django.server": {"filters": ["secret_paths"]},
    },
}
