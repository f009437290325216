"""Sign-in, sign-out and the user's language / time zone: browser sessions (Flask-Login) over the same users
service the API checks passwords with.

Each sign-in is a session row (app/engine/identity/sessions.py); Flask's cookie carries its random id, and every
request is accepted only while that session is open. A session that has ended or expired signs the browser out
and the sign-in page says why. No remember-me cookie is issued, and one could not bypass this: Flask-Login loads
its user through the same loader, which needs an open session."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from app.engine.core.actors import Actor
from app.engine.core.errors import InvalidSubmission
from app.engine.identity import sessions, sign_ins, users
from app.web import current_runtime
from app.web.pages import check_csrf
from app.web.pages.i18n import gettext as _
from app.web.request_input import CONTROL_CHARACTER
from app.web.throttle import signin_throttle

bp = Blueprint("session", __name__)
bp.before_request(check_csrf)
login_manager = LoginManager()

SESSION_ID = "session_id"          # Flask session key: the browser session's random id
ENDED_BECAUSE = "session_ended"    # Flask session key: why the last session ended, for the sign-in page


@dataclass(frozen=True)
class SignedIn:
    """What a page needs to know about the person at the browser, loaded once per request."""

    id: int
    actor: Actor
    display_name: str
    locale: str | None
    timezone: str | None
    session: int | None = None  # the browser session's row (identity/sessions.py)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def of(cls, user, session: int | None = None) -> SignedIn:
        return cls(id=user.id, actor=users.actor_for(user), display_name=user.display_name, locale=user.locale,
                   timezone=user.timezone, session=session)


def init(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "session.sign_in"
    login_manager.login_message = None  # the sign-in page says what to do; no English-only flash


@login_manager.user_loader
def _load_user(user_id: str) -> SignedIn | None:
    """The signed-in user, only while the browser's session is open (not ended, not idle, not too old)."""
    session_id = session.get(SESSION_ID)
    if not isinstance(session_id, str) or not user_id.isdigit():
        _forget("unknown")
        return None
    with current_runtime().unit_of_work() as uow:
        checked = sessions.check(uow, session_id)
        if checked.user is not None and checked.user.id == int(user_id):
            return SignedIn.of(checked.user, checked.row_id)
    _forget(checked.reason or "unknown")
    return None


def _forget(reason: str) -> None:
    """Sign the browser out (a fresh Flask session), remembering why for the sign-in page."""
    locale = session.get("locale")
    session.clear()
    session[ENDED_BECAUSE] = reason
    if locale:
        session["locale"] = locale


def _ended_notice(reason: str | None) -> str | None:
    if reason is None:
        return None
    if reason == sessions.IDLE:
        return _("You were signed out because you had not used the workspace for a while. Please sign in again.")
    if reason == sessions.LIFETIME:
        return _("Your session reached its maximum length. Please sign in again.")
    return _("Your session has ended: it was signed out, here or from another browser, or your password changed. "
             "Please sign in again.")


@bp.get("/")
def index():
    """Browsers go to their inbox (or sign in); programs asking for JSON get the service description."""
    from app.web import index as service_description  # noqa: PLC0415 - app.web imports this package

    if "text/html" not in request.accept_mimetypes.values():
        return service_description()
    return redirect(url_for("inbox.inbox") if current_user.is_authenticated else url_for("session.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("inbox.inbox"))
    error = None
    notice = _ended_notice(session.pop(ENDED_BECAUSE, None))
    username = request.form.get("username", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        throttle = signin_throttle()
        throttle.check(username)  # the same limits as the API's Basic sign-in: 429 once they are used up
        with current_runtime().unit_of_work() as uow:
            record = users.sign_in_record(uow, username)
        actor = users.check_password(record, password)  # the slow hash, outside any transaction
        if actor is None:
            with current_runtime().unit_of_work() as uow:  # committed although the sign-in is refused
                sign_ins.sign_in_failed(uow, username, address=request.remote_addr)
            throttle.failed(username)  # 429 instead of 401 once this address or account has no failures left
            error = _("The user name or password is not correct.")
        else:
            signed_in, session_id = _signed_in(actor, request.form.get("timezone", "").strip())
            chosen_locale = session.get("locale")
            session.clear()  # a fresh session for the signed-in user
            login_user(signed_in)
            session[SESSION_ID] = session_id
            if chosen_locale and signed_in.locale is None:
                session["locale"] = chosen_locale
            return redirect(_safe_next(request.args.get("next")) or url_for("inbox.inbox"))
    status = 401 if error else 200
    return render_template("pages/sign_in.html", error=error, notice=notice, username=username), status


def _signed_in(actor: Actor, browser_zone: str) -> tuple[SignedIn, str]:
    """The session's user and its new session id; on the first sign-in, the browser's time zone becomes the
    user's (a first default they can change; a zone this server does not know is simply not saved)."""
    with current_runtime().unit_of_work() as uow:
        user = users.active_user(uow, actor.user_id) if actor.user_id is not None else None
        assert user is not None  # the password check has just found this active user
        started = sign_ins.signed_in(uow, actor, address=request.remote_addr, user_agent=request.user_agent.string)
        if user.timezone is None and browser_zone:
            try:
                users.set_preferences(uow, actor, timezone=browser_zone)  # validates before it changes anything
            except InvalidSubmission:
                pass
        return SignedIn.of(user, started.row_id), started.session_id


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an absolute or protocol-relative URL (no open redirect), nor one a browser
    reads as such ("/\\evil.example": backslashes count as slashes), nor one with a control character (a line
    break would end the Location header: a 500, or a header of the attacker's)."""
    if not target or "\\" in target or CONTROL_CHARACTER.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.post("/sign-out")
def sign_out():
    if current_user.is_authenticated:
        with current_runtime().unit_of_work() as uow:
            sign_ins.signed_out(uow, current_user.actor, session=current_user.session, address=request.remote_addr)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("session.sign_in"))


@bp.post("/preferences")
def preferences():
    """The header's language switcher (and time zone), saved on the user; before sign-in, in the session."""
    locale = request.form.get("locale") or None
    zone = request.form.get("timezone") or None
    if current_user.is_authenticated:
        try:
            with current_runtime().unit_of_work() as uow:
                users.set_preferences(uow, current_user.actor, locale=locale, timezone=zone)
        except InvalidSubmission:
            flash(_("That language or time zone is not available."), "error")
    elif locale in users.SUPPORTED_LOCALES:
        session["locale"] = locale
    return redirect(_safe_next(request.form.get("next")) or url_for("session.index"))


@bp.get("/preferences")
@login_required
def preferences_form():
    return render_template("pages/preferences.html")


@bp.get("/sessions")
@login_required
def sessions_page():
    """Your sessions: the browsers signed in as you, and "sign out other sessions"."""
    with current_runtime().unit_of_work() as uow:
        open_sessions = sessions.open_sessions(uow, current_user.id)
    return render_template("pages/sessions.html", sessions=open_sessions, this_session=current_user.session)


@bp.post("/sessions/sign-out-others")
@login_required
def sign_out_other_sessions():
    with current_runtime().unit_of_work() as uow:
        ended = sign_ins.signed_out_elsewhere(uow, current_user.actor, keep=current_user.session)
    flash(_("Signed out %(count)s other session(s).", count=ended), "info")
    return redirect(url_for("session.sessions_page"))
