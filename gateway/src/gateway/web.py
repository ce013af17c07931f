"""The web console's plumbing: page sessions, CSRF, languages, the per-IP rate limit and page errors.

- **Sessions**: Flask's signed cookie (``SECRET_KEY``) holds only the user and tenant ids and the language.
  HttpOnly, SameSite=Lax, Secure when the request came over HTTPS or ``COOKIE_SECURE`` is set. Every page
  request re-reads the user and roles from the gateway DB, so a deactivated user is out at the next click.
  The principal of a page comes from the session only; ``/api/`` never looks at the cookie (bearer only).
- **CSRF**: Flask-WTF's ``CSRFProtect`` with the automatic check off; ``_console_request`` runs it for every
  non-GET request outside ``/api/``, so API blueprints (present and future) need no exemption list.
- **Languages**: Flask-Babel, zh_CN by default whatever the browser says (the staff work in Chinese), English
  when chosen with ``?lang=en`` (kept in the session). The catalogues are the committed ``translations/*/
  LC_MESSAGES/messages.po``; the ``.mo`` files are compiled from them at app start (babel.messages API,
  milliseconds) into a temp directory named by the hash of the ``.po`` files. Chosen over compiling in
  bootstrap or committing ``.mo``: no build step to forget, no binaries in git, never stale, and it works when
  the installed package is read-only. New strings: ``pybabel extract -F babel.cfg -k _l -o /tmp/messages.pot .``
  then ``pybabel update -i /tmp/messages.pot -d src/gateway/translations`` (in ``gateway/``), and translate.
- **Rate limit**: Flask-Limiter on the public owner pages' POST (``OWNER_RATE_LIMIT``, default 10 per minute per
  IP) and the doors of ``limit_doors``. Counted in ``RATE_LIMIT_STORAGE`` (``GATEWAY_RATE_LIMIT_STORAGE``): the
  default ``memory://`` is per process (one local gateway); ``memcached://host:port`` is shared by every gateway
  replica, so N replicas give an address one budget, not N. A store that does not answer never takes the API
  down: Flask-Limiter logs a warning ("Rate limit storage unreachable - falling back to in-memory storage") and
  counts in the process until the store answers again (probed on requests, backing off from 1 s to 32 s).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from babel import Locale
from flask import current_app, g, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from . import accounts

log = logging.getLogger(__name__)

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

csrf = CSRFProtect()


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` on HTTPS requests even when ``SESSION_COOKIE_SECURE`` is off."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def compile_translations(source: Path = TRANSLATIONS) -> str:
    """A directory with ``<locale>/LC_MESSAGES/messages.mo`` compiled from the ``.po`` files under ``source``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    pos = sorted(source.glob("*/LC_MESSAGES/messages.po"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in pos)).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"estatedesk-gateway-i18n-{digest}"
    for po in pos:
        name = po.parts[-3]
        # Flask-Babel looks a locale up by its parsed name (zh_CN -> zh_Hans_CN): write both
        for locale_dir in dict.fromkeys((name, str(Locale.parse(name)))):
            mo = target / locale_dir / "LC_MESSAGES" / "messages.mo"
            if mo.exists():
                continue
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=name)
            partial = mo.with_suffix(f".{os.getpid()}.tmp")
            with partial.open("wb") as f:
                write_mo(f, catalog)
            partial.replace(mo)  # atomic: a concurrent start never reads half a file
    return str(target)


def public_url(endpoint: str, **values) -> str:
    """An absolute link to a page for e-mails and admins: ``PUBLIC_BASE_URL`` + the path. Never built from the
    request's ``Host`` header, which the client controls (host-header poisoning of reset links)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LOCALES else DEFAULT_LOCALE


MEMCACHED_TIMEOUT = 0.5  # s to connect to, and for each call on, the limit store: what a dead store costs a request


def _shared_memcached_client():
    """A ``client_getter`` for limits' memcached storage that makes one pooled client per limiter. limits keeps its
    client in a ``threading.local``; under eventlet (every request its own greenthread) that would be a new client,
    and a new connection, per request. pymemcache's ``PooledClient`` checks a connection out per call instead."""
    made = []

    def client(module, hosts, **options):
        if not made:
            made.append(module.HashClient(hosts, **options) if len(hosts) > 1
                        else module.PooledClient(*hosts, **options))
        return made[0]

    return client


def make_limiter(app) -> Limiter:
    """The gateway's one Flask-Limiter, counting in ``RATE_LIMIT_STORAGE`` (module docstring). Fails at start on a
    store limits does not know (or whose client is not installed); a known store that does not answer is only
    logged: the limits fall back to this process's memory until it answers."""
    uri = app.config.get("RATE_LIMIT_STORAGE") or "memory://"
    options = {}
    if uri.startswith("memcached://"):
        options = {"connect_timeout": MEMCACHED_TIMEOUT, "timeout": MEMCACHED_TIMEOUT,
                   "client_getter": _shared_memcached_client()}
    limiter = Limiter(get_remote_address, app=app, storage_uri=uri, storage_options=options, default_limits=[],
                      headers_enabled=False, in_memory_fallback_enabled=True, swallow_errors=True)
    if not uri.startswith("memory://") and not limiter.storage.check():
        log.warning("rate limit storage %s:// does not answer (GATEWAY_RATE_LIMIT_STORAGE): limits are counted "
                    "per gateway process until it does", uri.split("://", 1)[0])
    return limiter


# endpoint -> config key of its per-IP limit on POST (``limit_doors``)
DOOR_LIMITS = {
    "console.login": "LOGIN_RATE_LIMIT",                     # the console's sign-in form
    "auth.token": "LOGIN_RATE_LIMIT",                        # POST /api/v1/auth/token
    "console_account.reset_page": "LOGIN_RATE_LIMIT",        # spending a reset link sets a password
    "account.use_password_reset": "LOGIN_RATE_LIMIT",        # ... and through POST /api/v1/auth/password-reset
    "wechat.callback": "WECHAT_RATE_LIMIT",                  # WeChat's servers, signed per tenant
}


def limit_doors(app) -> None:
    """Per-IP limits on the doors a guesser knocks on. ``lockout`` counts failures per username (five lock it for
    fifteen minutes); this counts requests per address, so one address cannot spray passwords across many
    usernames, nor hammer the WeChat callback's signature check. Called once every blueprint is registered: the
    registered view is replaced by the limiter's wrapper (counted in the limiter's store, like the others)."""
    limiter = app.extensions["console_limiter"]
    for endpoint, key in DOOR_LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            raise RuntimeError(f"rate-limited endpoint {endpoint} is not registered")
        app.view_functions[endpoint] = limiter.limit(lambda key=key: app.config[key], methods=["POST"])(view)


def init_console(app) -> None:
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("COOKIE_SECURE"))
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=8)  # one working shift (Flask's default: 31 days)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    app.config.setdefault("OWNER_RATE_LIMIT", "10 per minute")
    app.session_interface = SessionInterface()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compile_translations()
    Babel(app, default_locale=DEFAULT_LOCALE, locale_selector=select_locale)
    csrf.init_app(app)
    app.extensions["console_limiter"] = limiter = make_limiter(app)

    from .blueprints import console, console_case_actions, console_complaints, console_queues, owner

    limiter.limit(lambda: app.config["OWNER_RATE_LIMIT"], methods=["POST"])(owner.bp)
    for blueprint in (console.bp, console_complaints.bp, console_case_actions.bp, console_queues.bp, owner.bp):
        app.register_blueprint(blueprint)
    from .blueprints import console_callbacks  # 回访 queue, case panel, owner survey

    limiter.limit(lambda: app.config["OWNER_RATE_LIMIT"], methods=["POST"])(console_callbacks.survey_bp)
    app.register_blueprint(console_callbacks.bp)
    app.register_blueprint(console_callbacks.survey_bp)
    from .blueprints import console_attachments, owner_form  # the owner's complaint form; files on the case page

    limiter.limit(lambda: app.config.get("OWNER_FORM_RATE_LIMIT") or owner_form.RATE_LIMIT,
                  methods=["POST"])(owner_form.bp)
    app.register_blueprint(owner_form.bp)
    app.register_blueprint(console_attachments.bp)
    from .blueprints import console_dashboard, console_extensions, console_sla_settings  # manager pages

    for blueprint in (console_extensions.bp, console_sla_settings.bp, console_dashboard.bp):
        app.register_blueprint(blueprint)
    from .blueprints import console_sla_site  # 营业时间与升级: the time limits' site settings as forms

    app.register_blueprint(console_sla_site.bp)
    from .blueprints import console_alert_settings, console_routing_settings  # settings pages (issue 8)

    app.register_blueprint(console_routing_settings.bp)
    app.register_blueprint(console_alert_settings.bp)
    from .blueprints import console_duty_settings  # 夜间值班表 (night duty roster)

    app.register_blueprint(console_duty_settings.bp)
    app.before_request(_console_request)
    app.context_processor(_template_globals)


def _is_page(path: str) -> bool:
    return not (path.startswith(("/api/", "/static/", "/open311/", "/channels/")) or path == "/metrics")


def _console_request() -> None:
    """``before_request`` for pages: language switch, principal from the session, CSRF on every POST."""
    if not _is_page(request.path):
        return
    lang = request.args.get("lang")
    if lang in LOCALES:
        session["lang"] = lang
    g.user = None
    uid, tid = session.get("uid"), session.get("tid")
    if uid and tid:
        with current_app.extensions["db"].connect() as conn:
            found = accounts.profile(conn, tid, uid)
        if found is not None and found["token_version"] != session.get("ver", 0):
            found = None  # password changed/reset, roles changed or TOTP reset since this login: log in again
        if found is None:  # deactivated or removed since login
            session.pop("uid", None)
            session.pop("tid", None)
            session.pop("ver", None)
        else:
            g.user = found
            g.principal = accounts.Principal(tid, uid, tuple((r["role"], r["estate"]) for r in found["roles"]))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _template_globals() -> dict:
    from . import labels, sorting

    return {"current_user": g.get("user"), "current_locale": select_locale(), "labels": labels, "sorting": sorting}
