"""Django settings for Distributor, read from the environment.

With nothing set, the project runs embedded: SQLite, tasks executed in-process, e-mail printed to
the console. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and real Celery workers.
``DISTRIBUTOR_ENV=production`` demands a real secret key, hosts and database and turns on every
``check --deploy`` hardening. Reference: https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from common.encryption import field_encryption_keys
from common.env import (
    env_bool,
    env_currency,
    env_decimal,
    env_int,
    env_list,
    env_str,
    env_timezone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------
# Mode
# ------------------------------------------------------------------------------
ENVIRONMENT = env_str("DISTRIBUTOR_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured(f"DISTRIBUTOR_ENV must be development or production, not {ENVIRONMENT!r}.")
PRODUCTION = ENVIRONMENT == "production"

# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    # The debug error page shows settings and tracebacks to whoever triggers an error.
    raise ImproperlyConfigured("DEBUG must be false in production (unset it or set DEBUG=false).")

# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", None if PRODUCTION else _DEV_SECRET_KEY, required=PRODUCTION)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production.")

# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# ------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "common",
    "distributor",
    "demo",
    "accounts",
    "catalog",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Security headers (see that section below) on every response, static files included.
    "csp.middleware.CSPMiddleware",
    "distributor.permissions_policy.PermissionsPolicyMiddleware",
    "distributor.no_store.NoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Above everything that can answer an error page, so /api/ errors are JSON whoever made them.
    "distributor.api_errors.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.RequireStaffTwoFactorMiddleware",
    "accounts.middleware.AuditorReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # ``?bom=1`` on any CSV download: the UTF-8 byte-order mark Excel needs for Chinese names.
    "common.csv_export.ExcelBomMiddleware",
]

ROOT_URLCONF = "distributor.urls"
WSGI_APPLICATION = "distributor.wsgi.application"
ASGI_APPLICATION = "distributor.asgi.application"

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
                "distributor.context_processors.shell",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database — https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# ------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if PRODUCTION and not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL is required in production (postgres://user@host:5432/name).")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (the dev server plus a management command) wait instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Redis, cache and Celery: distributor/settings_redis.py (timeouts, time limits, queues, and why)
# ------------------------------------------------------------------------------
# Settings are this module's names: each one is imported by name, used here or not.
from distributor.settings_redis import (  # noqa: E402, F401
    CACHES,
    CELERY_ACCEPT_CONTENT,
    CELERY_BEAT_SCHEDULE,
    CELERY_BROKER_CONNECTION_TIMEOUT,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT,
    CELERY_REDIS_SOCKET_TIMEOUT,
    CELERY_RESULT_BACKEND,
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS,
    CELERY_RESULT_EXPIRES,
    CELERY_RESULT_SERIALIZER,
    CELERY_TASK_ACKS_LATE,
    CELERY_TASK_ALWAYS_EAGER,
    CELERY_TASK_ANNOTATIONS,
    CELERY_TASK_DEFAULT_QUEUE,
    CELERY_TASK_EAGER_PROPAGATES,
    CELERY_TASK_IGNORE_RESULT,
    CELERY_TASK_PUBLISH_RETRY_POLICY,
    CELERY_TASK_QUEUES,
    CELERY_TASK_REJECT_ON_WORKER_LOST,
    CELERY_TASK_ROUTES,
    CELERY_TASK_SERIALIZER,
    CELERY_WORKER_PREFETCH_MULTIPLIER,
    REDIS_CONNECT_TIMEOUT,
    REDIS_SOCKET_TIMEOUT,
    REDIS_URL,
)

# ------------------------------------------------------------------------------
# Authentication — https://docs.allauth.org/en/latest/account/configuration.html
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Distributor"
# A code typed at the end of its 30 s window reaches the server in the next one (RFC 6238 §5.2
# allows one step of delay); without it people, and the tests, are refused a code they just read.
MFA_TOTP_TOLERANCE = 1
# Every staff member must pass TOTP in each sign-in before any staff or admin page
# (accounts/middleware.py RequireStaffTwoFactorMiddleware); staff cannot remove their last device.

# ------------------------------------------------------------------------------
# Internationalisation — https://docs.djangoproject.com/en/5.2/topics/i18n/
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Chinese tables keep thousands separators (Django's zh_Hans formats have none).
FORMAT_MODULE_PATH = ["distributor.formats"]
TIME_ZONE = env_timezone("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Business
# ------------------------------------------------------------------------------
BASE_CURRENCY = env_currency("BASE_CURRENCY", "CNY")
OPERATOR_NAME = env_str("OPERATOR_NAME", "Distributor Demo Ltd.")
OPERATOR_ADDRESS = env_str("OPERATOR_ADDRESS", "1 Example Road, Shanghai")
# On every PDF document (invoices, credit notes, receipts, statements): logo file path, tax id, bank details.
OPERATOR_LOGO = env_str("OPERATOR_LOGO", str(BASE_DIR / "static" / "documents" / "logo.svg"))
OPERATOR_TAX_ID = env_str("OPERATOR_TAX_ID", "")
OPERATOR_BANK_DETAILS = env_str("OPERATOR_BANK_DETAILS", "")
# Where customers of the operator pay by bank transfer: the payment-instructions block on invoices and
# statements and the portal's bank-transfer page (accounts.identity.payment_instructions). All blank: none.
OPERATOR_BANK_NAME = env_str("OPERATOR_BANK_NAME", "")
OPERATOR_BANK_ACCOUNT_NAME = env_str("OPERATOR_BANK_ACCOUNT_NAME", "")
OPERATOR_BANK_ACCOUNT_NUMBER = env_str("OPERATOR_BANK_ACCOUNT_NUMBER", "")
OPERATOR_BANK_CODE = env_str("OPERATOR_BANK_CODE", "")
OPERATOR_PAYMENT_INSTRUCTIONS = env_str("OPERATOR_PAYMENT_INSTRUCTIONS", "")

# ------------------------------------------------------------------------------
# Static files — https://docs.djangoproject.com/en/5.2/howto/static-files/
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes and, in production, where WhiteNoise serves from.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Outside production WhiteNoise serves straight from the source folders; no collectstatic needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ------------------------------------------------------------------------------
# E-mail — https://docs.djangoproject.com/en/5.2/topics/email/
# ------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "billing@distributor.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ------------------------------------------------------------------------------
# Stripe — configured only when its keys are present
# ------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_ENABLED = bool(STRIPE_SECRET_KEY)

# ------------------------------------------------------------------------------
# REST API — https://www.django-rest-framework.org/api-guide/settings/
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API speaks JSON only, errors included; people read it at /api/v1/docs/, not a browsable API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Distributor API",
    "DESCRIPTION": "Usage ingestion, price quotes and gateway status for an AI-token distributor.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are for signed-in users and gateway tokens (401 otherwise). Redoc comes from our
    # static files (static/vendor/redoc, `make assets`), never the CDN drf-spectacular defaults to.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "billing.usage.auth.GatewayTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "REDOC_DIST": f"/{STATIC_URL}vendor/redoc",
}

# ------------------------------------------------------------------------------
# Security — https://docs.djangoproject.com/en/5.2/ref/checks/#security
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# ------------------------------------------------------------------------------
# Security headers — Content-Security-Policy (django-csp: https://django-csp.readthedocs.io/en/latest/),
# Permissions-Policy (distributor/permissions_policy.py), Cache-Control: no-store on private answers
# and downloads (distributor/no_store.py), JSON errors under /api/ (distributor/api_errors.py).
# ------------------------------------------------------------------------------
# Pages run only our own static scripts: no inline script, no event-handler attributes, no eval (htmx
# is told so in base.html); chart data travels in json_script blocks, which are data, not script.
# Stripe Checkout is a redirect after a form posted to us, and browsers check form-action on redirects.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, "https://checkout.stripe.com"],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
# Feature → allowlist ([] switches it off everywhere). Payments redirect to Stripe; nothing is embedded.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# ------------------------------------------------------------------------------
# Top-ups — card (Stripe Checkout), bank transfer and redemption codes. See docs/payments.md.
# ------------------------------------------------------------------------------
# Card top-up limits per currency, in major units (yuan, dollars), for the amount credited to the wallet.
# A currency missing here cannot be topped up by card.
TOPUP_CARD_LIMITS = {
    "CNY": {"min": "50", "max": "50000", "presets": ["100", "500", "1000", "5000"]},
    "USD": {"min": "10", "max": "10000", "presets": ["20", "50", "100", "500"]},
}
# Card fee = amount × percent / 100 + fixed (fixed per currency, major units). "customer" adds it on top of
# the amount chosen (the wallet still gets that amount); "absorb" charges the amount only and books the fee
# as an expense of ours.
TOPUP_CARD_FEE_MODE = env_str("TOPUP_CARD_FEE_MODE", "customer")
if TOPUP_CARD_FEE_MODE not in {"customer", "absorb"}:
    raise ImproperlyConfigured(f"TOPUP_CARD_FEE_MODE must be customer or absorb, not {TOPUP_CARD_FEE_MODE!r}")
TOPUP_CARD_FEE_PERCENT = env_decimal("TOPUP_CARD_FEE_PERCENT", "2.9")
TOPUP_CARD_FEE_FIXED = {"CNY": "0", "USD": "0.30"}
# A bank transfer is credited only after a second finance user (not the recorder) approves it.
BANK_TRANSFER_REQUIRES_APPROVAL = env_bool("BANK_TRANSFER_REQUIRES_APPROVAL", True)
BANK_TRANSFER_ATTACHMENT_MAX_BYTES = env_int("BANK_TRANSFER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Largest vendor usage or invoice file an import reads (page or import_upstream): a month per file fits.
UPSTREAM_IMPORT_MAX_BYTES = env_int("UPSTREAM_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Redemption codes credit granted (promotional) credit that expires this many days after redemption.
REDEMPTION_CREDIT_VALID_DAYS = env_int("REDEMPTION_CREDIT_VALID_DAYS", 365)
REDEMPTION_BATCH_MAX = 10_000

# ------------------------------------------------------------------------------
# Ledger and wallets (issue 4) — docs/ledger.md
# ------------------------------------------------------------------------------
# Global HMAC-SHA256 key for balance webhooks when a wallet has no secret of its own; without either,
# no webhook is sent. https://docs.djangoproject.com/en/5.2/topics/signing/ explains the same idea.
WALLET_WEBHOOK_SECRET = env_str("WALLET_WEBHOOK_SECRET", "" if PRODUCTION else "dev-wallet-webhook-secret")
# Outgoing webhooks go only to public addresses (common/outgoing_webhooks.py); these host names (or
# addresses) are exempt, e.g. a gateway on the private network. Empty by default, in development too.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS")
# Secrets kept in the database (webhook signing secrets, TOTP keys through the MFA adapter) are encrypted
# with these Fernet keys (common/encryption.py): comma-separated, the first encrypts, all decrypt.
# Without FIELD_ENCRYPTION_KEYS one key is derived from SECRET_KEY (check --deploy warns: distributor.W001).
FIELD_ENCRYPTION_KEYS = field_encryption_keys(secret_key=SECRET_KEY)
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
# Default low-balance alert threshold of a new wallet, per currency (available balance, major units).
WALLET_LOW_BALANCE_THRESHOLDS = {"CNY": "100", "USD": "20", "EUR": "20"}
# Expired granted and pack credit moves to breakage income hourly.
CELERY_BEAT_SCHEDULE["wallet-lots-expire"] = {
    "task": "billing.wallets.tasks.wallet_lots_expire_task",
    "schedule": 3600,
}
# A hard limit (Wallet.limit_mode) holds back the trailing hour's usage × WALLET_RESERVE_MINUTES ÷ 60 above
# the floor (a wallet may set its own minutes); wallets suspended for that reserve are re-read every five
# minutes, since the reserve runs down once the suspended customer stops spending.
WALLET_RESERVE_MINUTES = env_int("WALLET_RESERVE_MINUTES", 15)
CELERY_BEAT_SCHEDULE["wallet-reserves-refresh"] = {
    "task": "billing.wallets.tasks.wallet_reserves_refresh_task",
    "schedule": 300,
}
# Prepaid customers' subscription months are charged to the wallet as they start (billing/allowances/).
CELERY_BEAT_SCHEDULE["allowance-charges-due"] = {
    "task": "billing.allowances.tasks.allowance_charges_due_task",
    "schedule": 3600,
}

# ------------------------------------------------------------------------------
# Usage pipeline — docs/usage.md
# ------------------------------------------------------------------------------
# Where the cost of rated usage is credited: "upstream_prepaid" draws down credit bought from the vendor in
# advance; "payable" accrues a debt to the vendor (post-paid contracts).
USAGE_COST_CREDIT_KIND = env_str("USAGE_COST_CREDIT_KIND", "upstream_prepaid")
if USAGE_COST_CREDIT_KIND not in {"upstream_prepaid", "payable"}:
    raise ImproperlyConfigured(
        f"USAGE_COST_CREDIT_KIND must be upstream_prepaid or payable, not {USAGE_COST_CREDIT_KIND!r}."
    )
# Monthly partitions of raw usage events are created ahead of time (ingestion also creates one on demand).
CELERY_BEAT_SCHEDULE["usage-partitions-ensure"] = {
    "task": "billing.usage.tasks.usage_partitions_ensure_task",
    "schedule": 24 * 3600,
}
# Unrated events are retried regularly, so fixing the cause (a new alias, key mapping or price) is enough.
CELERY_BEAT_SCHEDULE["usage-rerate"] = {
    "task": "billing.usage.tasks.usage_rerate_task",
    "schedule": 15 * 60,
}
# Uploads whose worker died (no heartbeat for UPLOAD_STALLED_AFTER) or that could not be queued are queued
# again every two minutes, on the billing queue (on ingest it would wait behind the uploads themselves).
CELERY_IMPORTS = (*globals().get("CELERY_IMPORTS", ()), "billing.usage.resume_tasks")
CELERY_BEAT_SCHEDULE["usage-uploads-resume"] = {
    "task": "billing.usage.resume_tasks.usage_uploads_resume_task",
    "schedule": 2 * 60,
}
CELERY_TASK_ROUTES["billing.usage.resume_tasks.usage_uploads_resume_task"] = {"queue": "billing"}

# ------------------------------------------------------------------------------
# Period close (issue 6) — billing/invoicing/close/
# ------------------------------------------------------------------------------
# Beat reads crontab schedules in CELERY_TIMEZONE (Celery's default is UTC): periods close at the operator's
# midnight, so the close must fire at 00:15 on the 1st *there*. Interval schedules are unaffected.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#timezone
CELERY_TIMEZONE = TIME_ZONE
# Closes the month that just ended (and its quarter at quarter ends); re-running is safe.
CELERY_BEAT_SCHEDULE["period-close"] = {
    "task": "billing.invoicing.tasks.period_close_task",
    "schedule": crontab(minute=15, hour=0, day_of_month=1),
}

# Agency commission statements (billing/chain/commission.py): after the close has posted the month, each
# agent's statement is read from its commission payable; re-running rewrites nothing that did not change.
CELERY_BEAT_SCHEDULE["commission-statements"] = {
    "task": "billing.chain.commission_statements_task",
    "schedule": crontab(minute=0, hour=2, day_of_month=1),
}

# 货不对版 signals (billing/upstream/mismatch/): nightly, the past week's days (late usage and late vendor
# files still change them); flags are upserted by key, so re-running changes nothing that did not change.
CELERY_BEAT_SCHEDULE["upstream-mismatch-scan"] = {
    "task": "billing.upstream.mismatch.tasks.mismatch_scan_task",
    "schedule": crontab(minute=40, hour=7),
}
# Workers discover ``tasks`` modules one package below an app (distributor/celery.py); this one is two.
CELERY_IMPORTS = (*globals().get("CELERY_IMPORTS", ()), "billing.upstream.mismatch.tasks")

# The upstream prepaid ledger (billing/upstream/daily.py): each morning, burn yesterday's consumption from the
# channels' packs, expire packs, accrue ended commit periods and last month's volume rebates, and alert
# channels under their days of cover (once per channel and day); every step is re-run-safe.
CELERY_BEAT_SCHEDULE["upstream-ledger-daily"] = {
    "task": "billing.upstream.tasks.upstream_daily_task",
    "schedule": crontab(minute=30, hour=5),
}

# Upstream reconciliation (billing/upstream/reconcile/): each morning the last week's days that are now due
# on their channels (day end + reporting lag), so a late vendor file changes the next run; on the 3rd the
# month just closed. A re-run with unchanged inputs stores nothing; a leakage past the threshold alerts once.
CELERY_IMPORTS = (*CELERY_IMPORTS, "billing.upstream.reconcile.tasks")
CELERY_BEAT_SCHEDULE["upstream-reconcile-daily"] = {
    "task": "billing.upstream.reconcile.tasks.reconcile_daily_task",
    "schedule": crontab(minute=15, hour=8),
}
CELERY_BEAT_SCHEDULE["upstream-reconcile-monthly"] = {
    "task": "billing.upstream.reconcile.tasks.reconcile_monthly_task",
    "schedule": crontab(minute=45, hour=8, day_of_month=3),
}

# Realised FX on foreign-currency payments (billing/fx/realised.py): each night, for allocations up to
# yesterday. The month that ended is revalued (billing/fx/revaluation.py) after its close, at the month-end
# rate, and reversed on the 1st; a missing rate fails the run with the pairs to enter, and re-running is safe.
CELERY_BEAT_SCHEDULE["fx-realised"] = {
    "task": "billing.fx.tasks.fx_realised_task",
    "schedule": crontab(minute=30, hour=1),
}
CELERY_BEAT_SCHEDULE["fx-revaluation"] = {
    "task": "billing.fx.tasks.fx_revaluation_task",
    "schedule": crontab(minute=45, hour=0, day_of_month=1),
}

# ------------------------------------------------------------------------------
# Dunning and the credit-limit policy (issue 6) — billing/dunning/services.py, billing/terms/credit.py
# ------------------------------------------------------------------------------
# Reminders are e-mail work: the notify queue, so PDF rendering and ingestion never delay them (the invoice
# PDF is rendered inside the task).
CELERY_TASK_ROUTES["billing.dunning.*"] = {"queue": "notify"}
# Once a day at 09:30 operator time (CELERY_TIMEZONE): customers read reminders in business hours, and
# levels count whole days from the due date, so one run a day is enough; re-running sends nothing twice.
CELERY_BEAT_SCHEDULE["dunning-run"] = {
    "task": "billing.dunning.tasks.dunning_run_task",
    "schedule": crontab(minute=30, hour=9),
}
# Safety net for the credit limit: the services that post ask for the check as they commit
# (billing.terms.credit.credit_limit_watch); this re-checks every credit customer with a limit in case a
# balance moved some other way.
CELERY_BEAT_SCHEDULE["credit-limit-check"] = {
    "task": "billing.terms.tasks.credit_limit_check_task",
    "schedule": 10 * 60,
}

# ------------------------------------------------------------------------------
# Working capital and bad debt (issue 19) — billing/exposure/, billing/dunning/risk*.py, progressive billing
# ------------------------------------------------------------------------------
# The owner's dashboard: yesterday's figures kept as a snapshot shortly after midnight (missing days of the
# last 90 back-filled from the ledger), and today's recomputed every minute so no page request pays for it.
CELERY_IMPORTS = (*CELERY_IMPORTS, "billing.exposure.snapshot_tasks", "billing.exposure.ecl_tasks")
CELERY_BEAT_SCHEDULE["capital-snapshot"] = {
    "task": "billing.exposure.snapshot_tasks.capital_snapshot_task",
    "schedule": crontab(minute=10, hour=0),
}
CELERY_BEAT_SCHEDULE["capital-live"] = {
    "task": "billing.exposure.snapshot_tasks.capital_live_task",
    "schedule": 60,
}
# Expected credit loss: on the 1st, the allowance as of the month just ended; only the change is posted, so
# a re-run posts nothing.
CELERY_BEAT_SCHEDULE["ecl-monthly"] = {
    "task": "billing.exposure.ecl_tasks.ecl_monthly_task",
    "schedule": crontab(minute=30, hour=1, day_of_month=1),
}
# Risk flags (overdue beyond the terms' days, usage spikes): also checked after usage commits; this is the
# sweep that raises overdue flags as days pass and clears spikes when a day ends.
CELERY_IMPORTS = (*CELERY_IMPORTS, "billing.dunning.risk_tasks")
CELERY_BEAT_SCHEDULE["risk-flags"] = {
    "task": "billing.dunning.risk_tasks.risk_flags_task",
    "schedule": 10 * 60,
}
# Progressive billing (billing/invoicing/progressive.py): interim invoices are asked for as usage commits;
# this is the safety net for a check that failed or was never queued.
CELERY_BEAT_SCHEDULE["progressive-billing"] = {
    "task": "billing.invoicing.tasks.progressive_billing_task",
    "schedule": 15 * 60,
}
# Tasks kept in the outbox while the broker was down (common/outbox.py) are queued again once it answers;
# a worker that starts drains it too (common/apps.py).
CELERY_BEAT_SCHEDULE["outbox-drain"] = {"task": "common.tasks.outbox_drain_task", "schedule": 60}
