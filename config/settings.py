"""Settings for the MTTQ document workflow system.

Every deployment-specific value comes from the environment; defaults give the
embedded setup (SQLite, embedded search index, tasks run in-process).
"""

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tinymce",
    "workflow.organisation",
    "workflow.audit",
    "workflow.documents",
    "workflow.oversight",
    "signing",
    "search",
    "workflow.meetings",
    "workflow.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "workflow.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Django's ModelBackend with a faster read of the session's user (see the module); the
# stock one stays listed so sessions opened before keep working.
AUTHENTICATION_BACKENDS = [
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
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
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
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
# The size check runs first so an oversized upload stops before it is spooled to disk.
FILE_UPLOAD_HANDLERS = [
    "workflow.documents.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

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
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "workflow.api.errors.exception_handler",
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
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "mttq"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery: no broker configured means tasks run in-process (embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or env_str("BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}
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
SEARCH_WRITER_LOCK_TIMEOUT = float(env_int("SEARCH_WRITER_LOCK_TIMEOUT", 10))
# Redis redelivers a message a killed worker had not acknowledged after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# The periodic safety net: re-index whatever is missing or stale.
CELERY_BEAT_SCHEDULE["search-reconcile"] = {
    "task": "search.tasks.reconcile_index",
    "schedule": env_int("SEARCH_RECONCILE_SECONDS", 300),
}
# Two-step signatures past SIGNING_PENDING_TTL: expired and their prepared PDFs dropped.
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

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@mttq.local")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
