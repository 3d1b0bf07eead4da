"""Django settings.

Everything that differs between a laptop demo and a Sở platform comes from the environment:
`HOCBA_DATA_DIR` (database, files, development PKI), `DATABASE_URL` (PostgreSQL),
`HOCBA_SECRET_KEY`, `HOCBA_DEBUG`, `HOCBA_ALLOWED_HOSTS`, `HOCBA_VERIFY_URL` (the public
verification address printed on every PDF view), `HOCBA_S3_*` (an object store for the files),
`HOCBA_REDIS_URL` (the shared cache), `HOCBA_TASKS` (the job engine's queue), `HOCBA_SIGNIN_*`
(sign-in throttling), `HOCBA_TRUSTED_PROXIES` (reverse proxies whose X-Forwarded-For is believed),
the keys that seal and the trust that verifies (`HOCBA_SEAL_*`, `HOCBA_UPSTREAM_*`,
`HOCBA_TRUST_*`).

Every environment variable the platform reads is read here; the code reads `settings.X`.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from hocba import limits

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HOCBA_DATA_DIR", "var")).resolve()


def _secret_key() -> str:
    """The key comes from the environment; a development data directory keeps its own."""
    key = os.environ.get("HOCBA_SECRET_KEY")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("HOCBA_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("HOCBA_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "hocba.jobs",
    "hocba.organizations",
    "hocba.students",
    "hocba.gradebook",
    "hocba.audit",
    "hocba.records",
    "hocba.signing",
    "hocba.documents",
    "hocba.exchange",
    "hocba.warehouse",
    "hocba.verification",
    "hocba.family",
    "hocba.workflow",
    "hocba.imports",
    "hocba.people",
    "hocba.handover",
    "hocba.external",
    "hocba.web",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # pages travel compressed (weak connections; Django pads them against BREACH); static files
    # are answered above, by WhiteNoise, with their own compressed copies and byte ranges
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hocba.web.middleware.VietnameseFirstLocaleMiddleware",
    # request bodies measured against their route's limit before anything below reads them
    # (CSRF reads forms); after the locale, so the 413 page is in the reader's language
    "hocba.web.request_limits.RequestBodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # a stored file gone or not matching its hash: a page that says so (hocba.blobs)
    "hocba.web.middleware.StoredFileErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a sign-in refused for too many failures into the page that says so
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hocba.config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "hocba.config.wsgi.application"

_database_url = os.environ.get("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "hocba.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                # WAL: readers never wait for the writer; NORMAL: no fsync on every commit
                # (still durable across application crashes, the safe setting with WAL).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # first: refuses every sign-in of a locked account or address before a password is checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True  # static files straight from the apps, no collectstatic step
# …so a missing STATIC_ROOT (nothing collected) is normal, not worth a warning
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
MEDIA_ROOT = DATA_DIR / "files"

# --- request bodies (docs/limits.md) -------------------------------------------------------
# Each route's limit is enforced from Content-Length by RequestBodyLimitMiddleware (413, JSON
# under /api/). Django's own ceiling sits above every route's limit, so it never answers first
# with its HTML 400; it still bounds what Django reads into memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = limits.LARGEST_REQUEST_BODY_BYTES
# Not a limit: an uploaded file above this size is spooled to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = limits.REQUEST_BODY_BYTES

VERIFY_URL = os.environ.get("HOCBA_VERIFY_URL", "http://127.0.0.1:8000/xac-minh")
"""Where printed records send their readers: the QR code and footer carry
`<VERIFY_URL>/<record id>/<version>?h=<short hash>`."""
TRUSTED_VERIFY_URLS = [
    url.strip() for url in os.environ.get("HOCBA_TRUSTED_VERIFY_URLS", "").split(",") if url.strip()
]
"""The verification addresses of other hocba instances (comma-separated, as each one's
HOCBA_VERIFY_URL): a PDF view whose QR code leads anywhere but VERIFY_URL or one of these does
not verify (`VIEW_ADDRESS_UNKNOWN`)."""


def _caches() -> dict[str, dict[str, object]]:
    """`default` is shared by every process (gunicorn workers, several machines): rate limits
    and failure counters must count together. Redis when HOCBA_REDIS_URL is set, else the
    database every process already uses. `local` is per process, for what is right to keep in
    memory (the drawn QR pages of verification/fastpath.py, keyed by the record's latest
    version)."""
    redis_url = os.environ.get("HOCBA_REDIS_URL")
    if redis_url:
        shared: dict[str, object] = {
            "BACKEND": "hocba.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": os.environ.get("HOCBA_REDIS_PREFIX", "hocba"),
        }
    else:
        shared = {
            "BACKEND": "hocba.cache.DatabaseCache",
            "LOCATION": "hocba_cache",
            # past this count, expired rows and then cached values are culled; live counters
            # never (hocba.cache)
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    return {
        "default": shared,
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }


CACHES = _caches()


# --- the job engine (docs/jobs.md) ------------------------------------------------------------

TASK_QUEUES = ("default", "documents", "exchange", "warehouse")
"""The queues tasks go to; `hocba worker` takes from all of them unless told otherwise."""


def _tasks() -> tuple[dict[str, dict[str, object]], dict[str, dict[str, object]]]:
    """Django's Tasks API (django-tasks) and where its queue lives (HOCBA_TASKS): `database`
    (the default: the database every process already uses, SQLite or PostgreSQL; no broker),
    `redis` (RQ on HOCBA_REDIS_URL, for workers on several machines) or `immediate` (each task
    runs in the process that enqueues it, when it is enqueued: scripts, the test suite)."""
    kind = os.environ.get("HOCBA_TASKS", "database").strip() or "database"
    if kind == "database":
        backend = "django_tasks_db.DatabaseBackend"
    elif kind == "immediate":
        backend = "django_tasks.backends.immediate.ImmediateBackend"
    elif kind == "redis":
        url = os.environ.get("HOCBA_REDIS_URL", "")
        if not url:
            raise ImproperlyConfigured(
                "HOCBA_TASKS=redis cần HOCBA_REDIS_URL (needs the Redis server's address)"
            )
        queues = {name: {"URL": url, "DEFAULT_TIMEOUT": 3600} for name in TASK_QUEUES}
        tasks = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": list(TASK_QUEUES)}}
        return tasks, queues
    else:
        raise ImproperlyConfigured(
            f"HOCBA_TASKS phải là database, redis hoặc immediate, không phải {kind!r} "
            "(must be database, redis or immediate)"
        )
    return {"default": {"BACKEND": backend, "QUEUES": list(TASK_QUEUES)}}, {}


TASKS, RQ_QUEUES = _tasks()
if RQ_QUEUES:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]


# --- client addresses behind reverse proxies (docs/security.md) ------------------------------


def _trusted_proxies() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    value = os.environ.get("HOCBA_TRUSTED_PROXIES", "")
    networks = []
    for item in value.split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"HOCBA_TRUSTED_PROXIES: {item.strip()!r} không phải địa chỉ hay mạng IP "
                "(is not an IP address or network)"
            ) from None
    return tuple(networks)


TRUSTED_PROXIES = _trusted_proxies()
"""The reverse proxies (addresses or networks, HOCBA_TRUSTED_PROXIES, comma-separated) whose
X-Forwarded-For is believed: a request from one of them comes from the right-most address in
that header that is not itself a trusted proxy. From any other peer the header is ignored, and
the client is the connection's address (`hocba.ratelimit.client_address`)."""

VERIFY_LOOKUPS_PER_MINUTE = int(os.environ.get("HOCBA_VERIFY_RATE", "60"))
"""Public verification lookups allowed per client address per minute (uploads: a sixth)."""

SIGNER_AGENT_URL = os.environ.get("HOCBA_SIGNER_AGENT_URL", "http://127.0.0.1:8765")
"""Where signing pages find the local signer agent (on the user's own computer)."""
SIGNER_AGENT_ORIGINS = [
    o
    for o in os.environ.get(
        "HOCBA_SIGNER_AGENT_ORIGINS", "/".join(VERIFY_URL.split("/")[:3])
    ).split(",")
    if o.strip()
]
"""The sites whose signing pages the local signer agent serves (`hocba signer-agent`); by
default the site of this deployment (the origin of HOCBA_VERIFY_URL)."""
SIGNER_AGENT_ORIGINS_GIVEN = bool(os.environ.get("HOCBA_SIGNER_AGENT_ORIGINS", "").strip())
"""Whether SIGNER_AGENT_ORIGINS came from HOCBA_SIGNER_AGENT_ORIGINS (for messages)."""
CSC_URL = os.environ.get("HOCBA_CSC_URL", "")
"""A remote signing service (CSC API v2); with one, signing pages offer remote signing."""

TSA_URL = os.environ.get("HOCBA_TSA_URL", "")
"""An RFC 3161 time-stamping authority: with one, PDF seals are PAdES B-LT (time stamp and
embedded revocation answers); without, B-B."""


def _revocation_refresh() -> float:
    value = os.environ.get("HOCBA_REVOCATION_REFRESH", "300")
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ImproperlyConfigured(
            f"HOCBA_REVOCATION_REFRESH phải là một số giây lớn hơn 0, không phải {value!r} "
            "(must be a number of seconds above 0)"
        )
    return seconds


REVOCATION_REFRESH_SECONDS = _revocation_refresh()
"""A certificate revoked while the server runs is reported within this many seconds, by every
process (HOCBA_REVOCATION_REFRESH, default 5 minutes): revocation answers, CRL files, cached
reports and cached verification pages are all kept no longer (docs/signing.md)."""

# --- keys and trust (docs/signing.md#keys-in-production) ------------------------------------


def _paths(variable: str) -> list[str]:
    return [p for p in os.environ.get(variable, "").split(",") if p]


DEV_PKI = os.environ.get("HOCBA_DEV_PKI", "") in ("1", "true", "yes")
"""Development and the demo only (`scripts/demo`, the tests): the development PKI in
DATA_DIR/pki is trusted and each school's organisation key on its SoftHSM2 token seals, when
no SEAL_* key is configured. Never in production: there, keys and trust come from the settings
below, and a missing seal key stops the start (check hocba.E104)."""
TRUST_ANCHORS = _paths("HOCBA_TRUST_ANCHORS")
"""Trusted root certificates (PEM files); with DEV_PKI and none given, the development CA."""
TRUST_INTERMEDIATES = _paths("HOCBA_TRUST_INTERMEDIATES")
"""Intermediate CA certificates (PEM files), also embedded in PDF seals."""
CRLS = _paths("HOCBA_CRLS")
"""CRL files checked for revocation."""
OCSP = os.environ.get("HOCBA_OCSP", "1") != "0"
"""Ask the OCSP responders named in certificates (`HOCBA_OCSP=0`: do not)."""
PKCS11_LIBRARY = os.environ.get("HOCBA_PKCS11_LIBRARY", "/usr/lib/softhsm/libsofthsm2.so")
"""The PKCS#11 module of the tokens or HSM (SoftHSM2's by default)."""
SOFTHSM2_CONF = os.environ.get("SOFTHSM2_CONF", "")
"""SoftHSM2's configuration file; by default the development PKI's, when it exists."""
SEAL_PKCS11 = os.environ.get("HOCBA_SEAL_PKCS11", "")
"""The schools' organisation keys on a token or HSM, as an RFC 7512 URI
(`pkcs11:token=…;object=…`); `{school}` and `{tax_code}` stand for the school's code and tax
code, so one setting serves every school of a platform. The PIN is SEAL_PKCS11_PIN."""
SEAL_PKCS11_PIN = os.environ.get("HOCBA_SEAL_PKCS11_PIN", "")
SEAL_P12 = os.environ.get("HOCBA_SEAL_P12", "")
"""Or a PKCS#12 file per school (same placeholders), with its password in SEAL_P12_PASSWORD."""
SEAL_P12_PASSWORD = os.environ.get("HOCBA_SEAL_P12_PASSWORD", "")
UPSTREAM_PKCS11 = os.environ.get("HOCBA_UPSTREAM_PKCS11", "")
"""The Sở's sealing key for forwarding, on a token (RFC 7512 URI; PIN in UPSTREAM_PKCS11_PIN)."""
UPSTREAM_PKCS11_PIN = os.environ.get("HOCBA_UPSTREAM_PKCS11_PIN", "")
UPSTREAM_P12 = os.environ.get("HOCBA_UPSTREAM_P12", "")
"""Or in a PKCS#12 file, with its password in UPSTREAM_P12_PASSWORD."""
UPSTREAM_P12_PASSWORD = os.environ.get("HOCBA_UPSTREAM_P12_PASSWORD", "")
HANDOVER_SIGNER_SHA256 = os.environ.get("HOCBA_HANDOVER_SIGNER_SHA256", "")
"""The SHA-256 of the certificate expected to seal a hand-over this instance imports (the
fingerprint `hocba handover export` prints); or name it with `hocba handover import --signer`
(docs/handover.md). Without either, an import is refused."""

# --- exchange and warehouse ---------------------------------------------------------------
WAREHOUSE_ENABLED = os.environ.get("HOCBA_WAREHOUSE", "") in ("1", "true", "yes")
"""This instance also runs a warehouse (Kho học bạ số): the API under /api/v1/warehouse/."""
WAREHOUSE_CODE = os.environ.get("HOCBA_WAREHOUSE_CODE", "")
"""The warehouse's own code (the Sở's code) when it forwards upward."""
WAREHOUSE_KNOWN_SCHOOLS_ONLY = True
"""A Sở's warehouse refuses records of schools it has no account for (UNKNOWN_SCHOOL)."""


def _above_zero(variable: str, default: str, whole: bool = False) -> float:
    """A number above 0 from the environment (a whole one if `whole`); anything else stops the
    start with the variable named."""
    value = os.environ.get(variable, default)
    try:
        number = float(int(value)) if whole else float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        kind = "số nguyên" if whole else "số"
        raise ImproperlyConfigured(
            f"{variable} phải là một {kind} lớn hơn 0, không phải {value!r} "
            f"(must be a {'whole ' if whole else ''}number above 0)"
        )
    return number


WAREHOUSE_PROCESSING_ATTEMPTS = int(_above_zero("HOCBA_WAREHOUSE_ATTEMPTS", "5", whole=True))
"""Attempts at processing a received package before it is answered as a whole with
PACKAGE_PROCESSING_FAILED (the sender sends its records again later)."""
WAREHOUSE_RETRY_SECONDS = _above_zero("HOCBA_WAREHOUSE_RETRY_SECONDS", "30")
"""The wait after a failed processing attempt, doubled after each (at most an hour): other
packages are processed meanwhile."""
JOBS_WORKER_STALE_SECONDS = _above_zero("HOCBA_WORKER_STALE_SECONDS", "60")
"""A `hocba worker` not seen for this long is taken for dead: the task it was running goes back
to the queue (a worker says it is alive every 5 seconds, also while a task runs; one whose
process is gone from this machine is taken for dead at once)."""
UPSTREAM_URL = os.environ.get("HOCBA_UPSTREAM_URL", "")
"""Where issued records go: a warehouse's API base (…/api/v1/warehouse), or `embedded` for the
warehouse of this same instance. Empty: nothing is sent. It must be https, except on this
machine (127.0.0.0/8, ::1, localhost) or with UPSTREAM_ALLOW_HTTP (check hocba.E103)."""
UPSTREAM_ALLOW_HTTP = os.environ.get("HOCBA_UPSTREAM_ALLOW_HTTP", "") in ("1", "true", "yes")
"""Allow a plain-http upstream on another machine: only on a closed private network, where
nobody can read or change what travels (the client secret, the answers)."""
EXCHANGE_EMBEDDED_CLIENT = "hocba.warehouse.embedded.EmbeddedClient"
"""The client of UPSTREAM_URL=embedded: this instance's own warehouse, called in-process (named
here because the exchange, below the warehouse, never imports it)."""
EXCHANGE_FORWARDED_COUNTS = "hocba.warehouse.stats.forwarded_counts"
"""What a package forwarded by this warehouse reports of its schools: their figures as they last
reached this warehouse (named here for the same reason)."""
EXCHANGE_PACKAGE_RECORDS = int(
    os.environ.get("HOCBA_PACKAGE_RECORDS", str(limits.PACKAGE_SENT_RECORDS))
)
"""Records in one package built by the sender (at most `limits.PACKAGE_RECORDS`)."""
EXCHANGE_PACKAGE_BYTES = int(os.environ.get("HOCBA_PACKAGE_BYTES", str(limits.PACKAGE_SENT_BYTES)))
"""Sealed bytes of one package built by the sender (at most `limits.PACKAGE_BYTES`, what a
warehouse takes); a smaller limit answered by the warehouse (413) is learnt and kept."""
EXCHANGE_BACKOFF_SECONDS = float(os.environ.get("HOCBA_BACKOFF_SECONDS", "5"))
"""First wait after a failed submission or a refused package; doubled each time."""
EXCHANGE_BACKOFF_MAX_SECONDS = float(os.environ.get("HOCBA_BACKOFF_MAX_SECONDS", "600"))
"""The longest wait between two attempts (ten minutes)."""
UPSTREAM_CLIENT_ID = os.environ.get("HOCBA_UPSTREAM_CLIENT_ID", "")
"""The upstream account (OAuth2 client id) of a sender that has no stored credential."""
UPSTREAM_CLIENT_SECRET = os.environ.get("HOCBA_UPSTREAM_CLIENT_SECRET", "")
"""Its secret; also what `hocba exchange credential` stores when given nothing on its input."""
ACCOUNT_SECRET = os.environ.get("HOCBA_ACCOUNT_SECRET", "")
"""The secret `hocba warehouse account add` gives a new account (else read from its input)."""


def _object_storage() -> dict[str, object]:
    """Where record XML, PDF views and packages are kept: files under HOCBA_DATA_DIR, or an
    S3-compatible object store when HOCBA_S3_BUCKET is set (credentials from the usual
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the machine's role)."""
    bucket = os.environ.get("HOCBA_S3_BUCKET")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": os.environ.get("HOCBA_S3_ENDPOINT") or None,
            "region_name": os.environ.get("HOCBA_S3_REGION") or None,
            "location": os.environ.get("HOCBA_S3_PREFIX", ""),
            # objects are private: downloads go through the views that check who may read
            "default_acl": None,
            "querystring_auth": True,
            # names are content hashes: the same name is the same content
            "file_overwrite": True,
        },
    }


STORAGES = {
    "default": _object_storage(),
    # collectstatic (run by `hocba serve`) writes gzip/brotli copies that WhiteNoise sends
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEMO_PASSWORD = os.environ.get("HOCBA_DEMO_PASSWORD", "hocba-demo")
"""The password of every demo account (`hocba demo`)."""

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- accounts created by the school (docs/people.md) ----------------------------------------
# One-time activation codes of accounts the school creates (docs/people.md): how many days a
# code stays valid, and how many wrong codes per account and per address within
# ACTIVATION_LOCK_MINUTES before the activation page refuses to check more.
ACTIVATION_CODE_DAYS = int(os.environ.get("HOCBA_ACTIVATION_CODE_DAYS", "30"))
ACTIVATION_FAILURES_PER_ACCOUNT = 5
ACTIVATION_FAILURES_PER_ADDRESS = 30
ACTIVATION_LOCK_MINUTES = 15

# --- sign-in throttling (django-axes; docs/security.md) --------------------------------------
SIGNIN_FAILURES_PER_ACCOUNT = int(os.environ.get("HOCBA_SIGNIN_FAILURES_PER_ACCOUNT", "10"))
"""Failed sign-ins to one account (from any address) that lock it for the cool-off period."""
SIGNIN_FAILURES_PER_ADDRESS = int(os.environ.get("HOCBA_SIGNIN_FAILURES_PER_ADDRESS", "30"))
"""Failed sign-ins from one client address (to any accounts) that lock the address. Higher than
the account's: a school's teachers often share one public address."""
SIGNIN_LOCK_MINUTES = float(os.environ.get("HOCBA_SIGNIN_LOCK_MINUTES", "15"))
"""How long a lock lasts, counted from the last failure that counted."""
AXES_HANDLER = "hocba.web.signin.SignInHandler"
AXES_FAILURE_LIMIT = SIGNIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = "hocba.web.signin.lock_period"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "hocba.web.signin.locked_out"
AXES_CLIENT_IP_CALLABLE = "hocba.ratelimit.client"
# attempts during a lock are refused without being recorded: the lock ends on time, and a
# stream of attempts cannot grow the attempt rows
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
