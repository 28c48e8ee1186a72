"""Settings for the MTTQ document workflow system.

Every deployment-specific value comes from the environment; defaults give the
embedded setup (SQLite, embedded search index, tasks run in-process).
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str
from .keyfiles import is_known_default, read_or_create

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MTTQ_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("MTTQ_PRODUCTION", False):
        raise RuntimeError("SECRET_KEY must be set in production")
    # Quick start: a random key made on first run, kept in var/ (mode 600).
    SECRET_KEY = read_or_create(VAR_DIR / "secret_key")
elif not DEBUG and is_known_default(SECRET_KEY):
    # A guessable key lets anyone forge sessions and signed links.
    raise RuntimeError("SECRET_KEY is a known default or too short: set 50+ random characters "
                       "(or unset it to have one made in MTTQ_VAR_DIR/secret_key)")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tinymce",
    "workflow.organisation",
    "workflow.audit",
    "workflow.documents",
    "workflow.incoming",
    "workflow.exchange",
    "workflow.oversight",
    "signing",
    "search",
    "workflow.meetings",
    "workflow.records",
    "workflow.accounts",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "workflow.notifications",
    "workflow.backup",
    "workflow.ops",
]

MIDDLEWARE = [
    # First: request latency for /metrics counts everything below it.
    "workflow.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "workflow.middleware.VietnameseFirstLocaleMiddleware",
    "workflow.middleware.UserTimezoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "workflow.accounts.middleware.SessionLimitsMiddleware",
    "workflow.accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: turns a lockout noticed by the authentication backend into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Django's ModelBackend with a faster read of the session's user (see the module); the
# stock one stays listed so sessions opened before keep working.
AUTHENTICATION_BACKENDS = [
    # django-axes first: refuses a locked-out username or address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "workflow.organisation.backends.ModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "workflow.context_processors.navigation",
                "workflow.notifications.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # With kept connections: test one before reusing it in a new request, so a
        # restarted PostgreSQL costs no 500 for every thread holding a dead connection.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers proceed while one writer commits; the busy timeout makes
    # a second writer wait instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

AUTH_USER_MODEL = "organisation.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "documents:inbox"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("MTTQ_PASSWORD_MIN_LENGTH", 10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads: files larger than the limit are refused with a translated message.
MTTQ_MAX_UPLOAD_BYTES = env_int("MTTQ_MAX_UPLOAD_MB", 50) * 1024 * 1024
# A request's fields other than files (form or JSON): a body of documents fits easily;
# larger requests get a translated 400/413 before anything parses them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MTTQ_MAX_FORM_KB", 2560) * 1024
# A document's HTML body, checked before nh3 cleans it (workflow/documents/html_limits.py):
# its size in UTF-8, its number of tags and how deep they nest.
MTTQ_MAX_BODY_BYTES = env_int("MTTQ_MAX_BODY_KB", 512) * 1024
MTTQ_MAX_BODY_TAGS = env_int("MTTQ_MAX_BODY_TAGS", 50000)
MTTQ_MAX_BODY_DEPTH = env_int("MTTQ_MAX_BODY_DEPTH", 100)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
# DOCX/XLSX/ODT are ZIP packages: refused at upload when they would expand past these
# (a 155 KB DOCX expanding to 45 MB of text was accepted and slowed every search).
MTTQ_MAX_ZIP_EXPANDED_BYTES = env_int("MTTQ_MAX_ZIP_EXPANDED_MB", 100) * 1024 * 1024
MTTQ_MAX_ZIP_ENTRIES = env_int("MTTQ_MAX_ZIP_ENTRIES", 2000)
# Expanded / compressed size, checked once a package expands past 10 MB: office text
# compresses 5-20 times, pictures barely; hundreds of times is a padded bomb.
MTTQ_MAX_ZIP_RATIO = env_int("MTTQ_MAX_ZIP_RATIO", 100)
# The size check runs first so an oversized upload stops before it is spooled to disk.
FILE_UPLOAD_HANDLERS = [
    "workflow.documents.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Behind nginx (deploy/nginx/mttq.conf): Django decides who may read a file, then answers
# with X-Accel-Redirect to this internal location and nginx sends the bytes
# (workflow/ops/files.py). Off by default: the quick start has no nginx.
MTTQ_X_ACCEL = env_bool("MTTQ_X_ACCEL", False)
MTTQ_X_ACCEL_PREFIX = env_str("MTTQ_X_ACCEL_PREFIX", "/_protected/")
# /metrics (Prometheus): a bearer token, or a client address in these networks (as
# MTTQ_TRUSTED_PROXIES tells it; a proxied request with no declared proxy needs the token).
MTTQ_METRICS_TOKEN = env_str("MTTQ_METRICS_TOKEN", "")
MTTQ_METRICS_ALLOWED_IPS = env_list("MTTQ_METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])

# Security: strict by default, relaxed only when DEBUG is asked for.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"
# SAMEORIGIN (not DENY) is deliberate: the document pages frame this site's own PDF
# previews. Other sites still cannot frame it, so the deploy check's advice is silenced.
# models.W047: SQLite cannot build the NULLS NOT DISTINCT review-rule constraint;
# PostgreSQL (the production database) enforces it and seeding uses get_or_create.
SILENCED_SYSTEM_CHECKS = ["security.W019", "models.W047"]
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bounded by DATA_UPLOAD_MAX_MEMORY_SIZE like the form parsers (Django checks those).
    "DEFAULT_PARSER_CLASSES": [
        "workflow.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "workflow.api.errors.exception_handler",
}
# API tokens (django-rest-knox): hashed (SHA-512) in the database, header "Token <token>",
# expire after API_TOKEN_TTL_DAYS; at most API_TOKEN_LIMIT live ones per person (a new one
# retires the oldest). Listed and revoked at /api/auth/tokens/.
API_TOKEN_LIMIT = env_int("API_TOKEN_LIMIT", 10)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_TTL_DAYS", 30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MTTQ e-Office API",
    "DESCRIPTION": "Outgoing documents, approval flow, registers, signing and search.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the document states wherever they appear (state, expected_state, filters).
    "ENUM_NAME_OVERRIDES": {"DocumentStateEnum": "workflow.documents.models.State"},
}

TINYMCE_DEFAULT_CONFIG = {
    "height": 420,
    "menubar": False,
    "plugins": "lists table",
    "toolbar": "undo redo | bold italic underline | alignleft aligncenter alignright "
    "alignjustify | bullist numlist outdent indent | table",
    "language": "vi",
    "language_url": None,
    "promotion": False,
    "branding": False,
    "license_key": "gpl",
}

# Cache: memory of each process unless CACHE_URL (redis://…) names a shared one. Only a
# shared cache may hold sessions: with one per process, a session ended in one process
# would live on in the others until it expired there.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mttq"),
            # After a Redis restart every pooled connection is dead: reconnect and retry
            # (0.05 s, 0.1 s, ... ~1.5 s in all) instead of a 500 for each of them.
            "OPTIONS": {"retry": Retry(ExponentialBackoff(cap=0.8, base=0.05), 5)},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The "shared" cache counts what must be counted across all worker processes (the API
# login throttle): Redis with CACHE_URL, else a table in the database (never per process).
if not CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHES["shared"] = (
    dict(CACHES["default"], KEY_PREFIX=env_str("CACHE_KEY_PREFIX", "mttq") + "-shared")
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
          "LOCATION": "mttq_shared_cache"}
)

# --- Accounts (issue 14): lockout, two-factor, step-up, sessions, CSP ---------------------
# The client address: REMOTE_ADDR, unless this many reverse proxies (each appending to
# X-Forwarded-For) stand in front of the app. Never more than really are there: every
# address left of them can be written by the client. Used by the lockout and throttles.
MTTQ_TRUSTED_PROXIES = env_int("MTTQ_TRUSTED_PROXIES", 0)
# django-axes: failures counted per username and per address, in the database (shared by
# all gunicorn processes); a lock lasts MTTQ_LOCKOUT_MINUTES, doubled for each lockout of
# the same username or address in the last day, up to MTTQ_LOCKOUT_MAX_MINUTES.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("MTTQ_LOGIN_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "workflow.accounts.client.client_ip"
AXES_COOLOFF_TIME = "workflow.accounts.lockout.cool_off"
AXES_LOCKOUT_CALLABLE = "workflow.accounts.lockout.lockout_response"
AXES_VERBOSE = False
MTTQ_LOCKOUT_MINUTES = env_int("MTTQ_LOCKOUT_MINUTES", 15)
MTTQ_LOCKOUT_MAX_MINUTES = env_int("MTTQ_LOCKOUT_MAX_MINUTES", 24 * 60)
# Two-factor (django-otp): roles that must enrol an authenticator app.
MTTQ_2FA_REQUIRED_ROLES = env_list("MTTQ_2FA_REQUIRED_ROLES", ["leader", "clerk", "admin"])
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "MTTQ e-Office")
# Step-up: signing, issuing with the seal and batch issue need a second factor proved
# within this many minutes.
MTTQ_STEP_UP_MINUTES = env_int("MTTQ_STEP_UP_MINUTES", 5)
# Sessions: signed out after this long without a request, and this long after logging in.
MTTQ_SESSION_IDLE_SECONDS = env_int("MTTQ_SESSION_IDLE_MINUTES", 60) * 60
MTTQ_SESSION_ABSOLUTE_SECONDS = env_int("MTTQ_SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_COOKIE_AGE = MTTQ_SESSION_ABSOLUTE_SECONDS
# Content-Security-Policy (django-csp): no inline scripts anywhere; styles may be inline
# (TinyMCE and htmx set style attributes). PDF previews are framed from this site only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}

# Celery: no broker configured means tasks run in-process (embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or env_str("BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Two queue groups, each with its own workers (deploy/, scripts/run-production.sh): indexing
# and OCR (long, CPU-heavy, may lag) on one; signing, deliveries and everything else on the
# default queue, so a burst of scans never delays an issued document's delivery. Set
# CELERY_INDEXING_QUEUE=celery to run everything on one queue (one worker).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_INDEXING_QUEUE = env_str("CELERY_INDEXING_QUEUE", "indexing") or CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_ROUTES = {
    "search.tasks.*": {"queue": CELERY_INDEXING_QUEUE},
    "incoming.ocr": {"queue": CELERY_INDEXING_QUEUE},
}
MTTQ_TASK_QUEUES = [CELERY_TASK_DEFAULT_QUEUE, CELERY_INDEXING_QUEUE]
CELERY_BEAT_SCHEDULE: dict = {}
# Worker heartbeat (/healthz): beat sends one to each queue; the worker that runs it
# stamps the time in the shared cache. Expired when not run within the period, so a
# stopped worker does not find a pile of them when it comes back.
MTTQ_HEARTBEAT_SECONDS = env_int("MTTQ_HEARTBEAT_SECONDS", 30)
MTTQ_HEARTBEAT_STALE_SECONDS = env_int("MTTQ_HEARTBEAT_STALE_SECONDS", 120)
for _queue in dict.fromkeys(MTTQ_TASK_QUEUES):
    CELERY_BEAT_SCHEDULE[f"ops-heartbeat-{_queue}"] = {
        "task": "ops.heartbeat", "schedule": MTTQ_HEARTBEAT_SECONDS, "args": (_queue,),
        "options": {"queue": _queue, "expires": MTTQ_HEARTBEAT_SECONDS},
    }
# Oversight (critique, supervision, recommendations): deadlines are rules in force, so
# they are configuration; see workflow/oversight/conf.py for every key and default.
CELERY_BEAT_SCHEDULE["oversight-flag-overdue"] = {
    "task": "oversight.flag_overdue",
    "schedule": env_int("OVERSIGHT_OVERDUE_CHECK_SECONDS", 3600),
}

# Notifications: e-mail digests once a day, deadline reminders (2 days before, on the
# day, overdue) and "meeting starts soon" checks; every run is idempotent.
NOTIFICATIONS_REMIND_DAYS_BEFORE = env_int("NOTIFICATIONS_REMIND_DAYS_BEFORE", 2)
NOTIFICATIONS_MEETING_LEAD_MINUTES = env_int("NOTIFICATIONS_MEETING_LEAD_MINUTES", 60)
# Meeting papers read in the room are access-logged in batches written this many seconds
# apart at most (0: each at once; what a killed worker can lose).
ACCESS_LOG_BATCH_SECONDS = env_int("ACCESS_LOG_BATCH_SECONDS", 2)
CELERY_BEAT_SCHEDULE["notifications-digest"] = {
    "task": "notifications.send_digests",
    "schedule": crontab(hour=env_int("NOTIFICATIONS_DIGEST_HOUR", 7), minute=0),
}
CELERY_BEAT_SCHEDULE["notifications-deadlines"] = {
    "task": "notifications.remind_deadlines",
    "schedule": env_int("NOTIFICATIONS_DEADLINE_CHECK_SECONDS", 3600),
}
CELERY_BEAT_SCHEDULE["notifications-meetings-soon"] = {
    "task": "notifications.meetings_starting_soon",
    "schedule": env_int("NOTIFICATIONS_MEETING_CHECK_SECONDS", 300),
}

# Search backend: "embedded" (tantivy on local disk) unless SEARCH_URL / ES_URL points
# at an Elasticsearch cluster.
SEARCH_URL = env_str("SEARCH_URL") or env_str("ES_URL")
SEARCH_INDEX_DIR = Path(env_str("SEARCH_INDEX_DIR", str(VAR_DIR / "search-index")))
# Elasticsearch alias name (indexes behind it are <alias>-<timestamp>).
SEARCH_ES_INDEX = env_str("SEARCH_ES_INDEX", "mttq-docs")
# "auto" picks pdftotext (poppler, measured faster) when installed, else pypdf.
SEARCH_PDF_EXTRACTOR = env_str("SEARCH_PDF_EXTRACTOR", "auto")
SEARCH_OCR_LANG = env_str("SEARCH_OCR_LANG", "vie")
# Text indexed per page and per file (characters); the rest is not indexed and the
# document says so. A hit's stored text is read and scanned for its snippet on every
# search that shows it: benchmarks/search_cap_bench.py measured a document at these caps
# among the hits at 1.6x the p95 without it (1 MB of text: 3x). A dense A4 page holds
# ~5,000 characters; long DOCX "pages" (no page breaks saved) are split, not cut.
SEARCH_MAX_PAGE_CHARS = env_int("SEARCH_MAX_PAGE_CHARS", 20_000)
SEARCH_MAX_FILE_CHARS = env_int("SEARCH_MAX_FILE_CHARS", 500_000)
# OCR runs in a Celery worker. Without a broker it is left pending (a request never waits
# for tesseract) unless this is set: then it runs in-process after commit (tests, dev).
SEARCH_OCR_SYNC = env_bool("SEARCH_OCR_SYNC", False)
SEARCH_OCR_MAX_RETRIES = env_int("SEARCH_OCR_MAX_RETRIES", 4)
SEARCH_WRITER_LOCK_TIMEOUT = float(env_int("SEARCH_WRITER_LOCK_TIMEOUT", 10))
# Redis redelivers a message a killed worker had not acknowledged after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The quick start (scripts/run.sh) runs a worker on kombu's file transport: a queue
    # in var/, no broker server to install, and OCR never runs in a web request.
    _QUEUE_DIR = VAR_DIR / "celery-queue"
    (_QUEUE_DIR / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update({
        "data_folder_in": str(_QUEUE_DIR), "data_folder_out": str(_QUEUE_DIR),
        "processed_folder": str(_QUEUE_DIR / "processed"), "store_processed": False,
        # Otherwise kombu keeps its exchange tables in ./control of whatever directory
        # the process started in.
        "control_folder": str(_QUEUE_DIR / "control"),
    })
# The periodic safety net: re-index whatever is missing or stale.
CELERY_BEAT_SCHEDULE["search-reconcile"] = {
    "task": "search.tasks.reconcile_index",
    "schedule": env_int("SEARCH_RECONCILE_SECONDS", 300),
}
# Two-step signatures past SIGNING_PENDING_TTL: expired and their prepared PDFs dropped.
# Incoming documents: finish deliveries a lost task left undone; deadline reminders.
INCOMING_DELIVERY_CHUNK = env_int("INCOMING_DELIVERY_CHUNK", 250)
CELERY_BEAT_SCHEDULE["incoming-reconcile"] = {
    "task": "incoming.reconcile",
    "schedule": env_int("INCOMING_RECONCILE_SECONDS", 120),
}
CELERY_BEAT_SCHEDULE["incoming-remind"] = {
    "task": "incoming.remind",
    "schedule": env_int("INCOMING_REMIND_SECONDS", 3600),
}
# edXML exchange (issue #15, docs/exchange.md): the watched drop folder, where status
# messages and recall notices for partners are written, the size limit of one package.
EDXML_INBOX_DIR = Path(env_str("EDXML_INBOX_DIR", str(VAR_DIR / "edxml" / "inbox")))
EDXML_OUTBOX_DIR = Path(env_str("EDXML_OUTBOX_DIR", str(VAR_DIR / "edxml" / "outbox")))
EDXML_MAX_BYTES = env_int("EDXML_MAX_BYTES", 40 * 1024 * 1024)
CELERY_BEAT_SCHEDULE["exchange-scan-inbox"] = {
    "task": "exchange.scan_inbox",
    "schedule": env_int("EDXML_SCAN_SECONDS", 60),
}
CELERY_BEAT_SCHEDULE["signing-expire-pending"] = {
    "task": "signing.tasks.expire_pending_signatures",
    "schedule": env_int("SIGNING_PENDING_PURGE_SECONDS", 300),
}
# DOCX → PDF runs under bubblewrap (no network, media and keys not visible); "off" only
# where namespaces cannot be made (the DOCX sanitiser alone then guards the conversion).
# The key that encrypts stored key passphrases/PINs: not derived from SECRET_KEY.
# SIGNING_KEK: Fernet keys, comma-separated, the first encrypts (others only decrypt);
# else the file SIGNING_KEK_FILE (made on first use, mode 600; one key a line).
SIGNING_KEK = env_str("SIGNING_KEK", "")
SIGNING_KEK_FILE = Path(env_str("SIGNING_KEK_FILE", str(VAR_DIR / "signing-kek")))
SIGNING_DOCX_SANDBOX = env_str("SIGNING_DOCX_SANDBOX", "auto")
SIGNING_DOCX_MEMORY_MB = env_int("SIGNING_DOCX_MEMORY_MB", 2048)

# Every stored PDF and file version hashed against its recorded SHA-256 (signing/integrity.py);
# a mismatch is audited and mailed to ADMINS. Daily by default; chunked by primary key.
CELERY_BEAT_SCHEDULE["signing-scan-stored-files"] = {
    "task": "signing.tasks.scan_stored_files",
    "schedule": env_int("SIGNING_INTEGRITY_SCAN_SECONDS", 86400),
}
SIGNING_INTEGRITY_SCAN_CHUNK = env_int("SIGNING_INTEGRITY_SCAN_CHUNK", 200)

# Backups (workflow/backup, docs/deployment.md): `manage.py backup`/`restore`. The scheduled
# one is off unless BACKUP_DIR and BACKUP_SCHEDULE (crontab: "minute hour day month weekday",
# e.g. "30 1 * * *") are both set; BACKUP_KEEP newest archives are kept. Secrets and keys
# go in only with BACKUP_INCLUDE_SECRETS / BACKUP_INCLUDE_KEYS and a passphrase file.
BACKUP_DIR = env_str("BACKUP_DIR", "")
BACKUP_SCHEDULE = env_str("BACKUP_SCHEDULE", "")
BACKUP_KEEP = env_int("BACKUP_KEEP", 7)
BACKUP_INCLUDE_SECRETS = env_bool("BACKUP_INCLUDE_SECRETS", False)
BACKUP_INCLUDE_KEYS = env_bool("BACKUP_INCLUDE_KEYS", False)
BACKUP_PASSPHRASE_FILE = env_str("BACKUP_PASSPHRASE_FILE", "")
# What a restore accepts at most: total size of the archive's members, number of members.
BACKUP_MAX_GB = env_int("BACKUP_MAX_GB", 500)
BACKUP_MAX_MEMBERS = env_int("BACKUP_MAX_MEMBERS", 5_000_000)
if BACKUP_DIR and BACKUP_SCHEDULE:
    _fields = BACKUP_SCHEDULE.split()
    if len(_fields) != 5:
        raise RuntimeError("BACKUP_SCHEDULE needs five crontab fields: "
                           "minute hour day-of-month month day-of-week")
    CELERY_BEAT_SCHEDULE["backup-scheduled"] = {
        "task": "backup.scheduled",
        "schedule": crontab(minute=_fields[0], hour=_fields[1], day_of_month=_fields[2],
                            month_of_year=_fields[3], day_of_week=_fields[4]),
    }
# Who gets the alerts (altered files): ADMINS=a@example.vn,b@example.vn
ADMINS = [(address, address) for address in env_list("ADMINS", [])]
SERVER_EMAIL = env_str("SERVER_EMAIL", "mttq@localhost")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_MINUTES", 60) * 60
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@mttq.local")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
