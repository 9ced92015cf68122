"""One flat settings module, configured from DASHBOARD_* environment variables.

Nothing here changes at run time: what `rundashboard` resolves from its options (token, paths,
role) lives in `kanban.runconfig`.
"""

import os
import secrets
import socket
from pathlib import Path

import psutil
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if not result >= 0:
        raise ImproperlyConfigured(f"{name} must be zero or more, not {value!r}")
    return result


def envamount(name: str) -> float | None:
    """An optional positive amount (a budget in USD); unset or empty means none."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        amount = float(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an amount in USD like 25 or 7.50, not {value!r}"
        ) from None
    if not (0 < amount < float("inf")):
        raise ImproperlyConfigured(f"{name} must be a positive amount in USD, not {value!r}")
    return amount


def envpath(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


# A fresh random key per process is fine: we keep no sessions or signed data that must
# survive a restart.
SECRET_KEY = os.environ.get("DASHBOARD_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = envbool("DASHBOARD_DEBUG", False)


def machine_hosts() -> list[str]:
    """Every name and address this machine answers to: the Host a browser may send.

    Explicit even when bound to 0.0.0.0 or ::, so a DNS-rebound name is still refused. A
    loopback-bound server cannot be reached through the others, so one list serves all modes.
    """
    names = {"localhost", "127.0.0.1", "[::1]", socket.gethostname().lower()}
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6):
                ip = address.address.split("%")[0]  # fe80::1%eth0: the zone is not in a Host
                names.add(f"[{ip}]" if ":" in ip else ip)
    return sorted(names)


ALLOWED_HOSTS = machine_hosts() + [
    h.strip() for h in os.environ.get("DASHBOARD_ALLOWED_HOSTS", "").split(",") if h.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "django_htmx",
    "template_partials",
    "kanban",
    "telemetry",
    "mcp_servers",
]

MIDDLEWARE = [
    # Outermost: sees every cookie set below it (token, CSRF, admin session).
    "dashboard_project.security.SecureCookiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The edge, before anything is served (static files included): a Host we answer to, the
    # token beyond loopback, and no unsafe method from a foreign Origin.
    "dashboard_project.security.AllowedHostMiddleware",
    "dashboard_project.security.TokenMiddleware",
    "dashboard_project.security.SameOriginMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compress about 10:1 (the 10,000-task board: see docs/api.md). BREACH: a page that
    # holds a secret and reflects input can leak it through the compressed size; the CSRF
    # token is masked afresh in every response, and the token itself never appears in a page.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard_project.urls"
ASGI_APPLICATION = "dashboard_project.asgi.application"

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
    }
]

# Django's own database holds nothing of ours (task state lives in the YAML files, costs in
# the read-only telemetry file), so it stays in memory and never touches the disk.
DASHBOARD_TELEMETRY_DB = envpath("DASHBOARD_TELEMETRY_DB", Path.cwd() / "telemetry.db")
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    # Read-only (mode=ro, and immutable for a WAL file with no writer), never migrated.
    "telemetry": {
        "ENGINE": "telemetry.sqlite_ro",
        "NAME": DASHBOARD_TELEMETRY_DB,
        "OPTIONS": {"timeout": 4},  # gives up on a locked file inside the 5 s the contract allows
        "TEST": {"DEPENDENCIES": [], "MIGRATE": False},
    },
}
DATABASE_ROUTERS = ["telemetry.routers.TelemetryRouter"]

# No server-side session store to write: sessions, if any, live in signed cookies.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `rundashboard` collects here at start when the sources are newer (a fresh clone included):
# hashed names, so WhiteNoise can let browsers keep them for a year, and .gz copies.
STATIC_ROOT = envpath("DASHBOARD_STATIC_ROOT", BASE_DIR / ".static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "dashboard_project.staticfiles.DashboardStaticStorage"},
}
# Tests and shells that never collected: WhiteNoise serves the source files by plain name.
WHITENOISE_USE_FINDERS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# No inline script anywhere (the theme pre-paint is a static file). Styles may be inline: the
# templates hold <style> blocks and htmx adds its indicator style; user Markdown never carries
# a style (nh3 strips it).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
    }
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# No "default" layer: this process's WebSocket clients hear changes through
# `kanban.runtime.HUB`, one pass over them per change, not one channel per client.
CHANNEL_LAYERS: dict[str, dict] = {}
# "relay" joins a `--role watcher` and its `--role web` processes (kanban/roles).
REDIS_URL = os.environ.get("DASHBOARD_REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS["relay"] = {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # A dead Redis must fail fast (health turns "degraded"), not hang a send; reads
            # block up to 5 s (channels-redis's BRPOP), so the read timeout sits above that.
            "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 10}],
            "prefix": os.environ.get("DASHBOARD_REDIS_PREFIX", "dashboard"),
            "capacity": 10_000,
            "expiry": 60,
        },
    }

# --- the dashboard's own settings -------------------------------------------------------
DASHBOARD_COLLAB_DIR = envpath("DASHBOARD_COLLAB_DIR", Path.cwd() / "work" / "collaboration")
DASHBOARD_TOKEN = os.environ.get("DASHBOARD_TOKEN", "")
DASHBOARD_TIME_ZONE = os.environ.get("DASHBOARD_TIME_ZONE", "UTC")
# How many cards a group shows before "show all": keeps the page small on huge boards.
DASHBOARD_DONE_LIMIT = envint("DASHBOARD_DONE_LIMIT", 10)
DASHBOARD_GROUP_LIMIT = envint("DASHBOARD_GROUP_LIMIT", 40)
# Budgets in USD (optional, read-only: the costs box and the feed warn at 80, 95 and 100 %).
DASHBOARD_BUDGET_DAILY = envamount("DASHBOARD_BUDGET_DAILY")
DASHBOARD_BUDGET_MONTHLY = envamount("DASHBOARD_BUDGET_MONTHLY")
# An agent with no file change, telemetry call or operation event for this long is "silent".
DASHBOARD_SILENT_AFTER_MINUTES = envamount("DASHBOARD_SILENT_AFTER_MINUTES") or 30.0
DASHBOARD_EVENTS_DIR = envpath("DASHBOARD_EVENTS_DIR", Path.cwd() / "work" / "events")
# Stop escalation (CONTRACT section 8): SIGINT, then SIGTERM after this many seconds, then SIGKILL
# after DASHBOARD_STOP_TERM_GRACE_SECONDS more. Shorter values are for tests.
# The drill-down: a query running longer is stopped (503); exports stop after this many rows.
DASHBOARD_QUERY_SECONDS = envfloat("DASHBOARD_QUERY_SECONDS", 10.0)
DASHBOARD_EXPORT_MAX_ROWS = envint("DASHBOARD_EXPORT_MAX_ROWS", 1_000_000)
DASHBOARD_STOP_GRACE_SECONDS = envfloat("DASHBOARD_STOP_GRACE_SECONDS", 10.0)
DASHBOARD_STOP_TERM_GRACE_SECONDS = envfloat("DASHBOARD_STOP_TERM_GRACE_SECONDS", 5.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DASHBOARD_LOG_LEVEL", "INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # The MCP SDK and its HTTP client log every request and reconnect at INFO (URLs
        # included): one line per health check is noise, and a URL may carry a key.
        "httpx2": {"level": "WARNING"},
        "mcp": {"level": "WARNING"},
    },
}
