"""Language and time zone of each request (Flask-Babel): the signed-in user's choice, else the browser's.

The time zone: the user's (their choice on the Preferences page, or their browser's, saved at their first sign-in
by session.py), else the bank's: the time zone of the active SLA profile (config/sla.toml ``timezone``), the one
its deadlines are counted in. Never silently UTC, unless the bank itself counts in UTC.

English is the source language; catalogs live in app/translations (``pybabel compile`` at install). Users and
the switcher say ``zh_CN``; Babel reads that as ``zh_Hans_CN`` (Simplified Chinese, China), which is the name
its catalog lookup tries, hence the catalog directory ``zh_Hans_CN``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale, get_timezone, get_translations
from flask_login import current_user

from app.engine.core.times import is_real_time_zone
from app.engine.identity.users import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
# Names shown in the language switcher, each in its own language.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


def init(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # The templates' _() through the request's catalog, looked up once (see translations()). The method is added by
    # the jinja2.ext.i18n extension (Flask-Babel loads it) at run time, so jinja2's types do not know it.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True)


def translations():
    """The catalog of this request's language, looked up once per request. Flask-Babel looks it up again on
    every call (request context, locale, the locale's identifier as cache key): with the 200-odd strings of
    an inbox page that was a third of the page's time. Flask-Babel keeps the locale for the whole request as
    well, so this changes no answer."""
    found = g.get("_complaintflow_translations")
    if found is None:
        found = g._complaintflow_translations = get_translations()
    return found


def gettext(string: str, **variables) -> str:
    """flask_babel.gettext through the request's catalog (same result, ``%(name)s`` variables included)."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def reader_locale():
    """The request's Babel locale and time zone, looked up once per request (the date filters ask per cell)."""
    found = g.get("_complaintflow_reader")
    if found is None:
        found = g._complaintflow_reader = (get_locale(), get_timezone())
    return found


def reads_chinese() -> bool:
    """Whether the request's reader reads Chinese (names the BPMN gives in Chinese are shown to them)."""
    return reader_locale()[0].language == "zh"


def select_locale() -> str:
    user = _signed_in()
    if user is not None and user.locale in SUPPORTED_LOCALES:
        return user.locale
    if session.get("locale") in SUPPORTED_LOCALES:  # chosen on the sign-in page, before signing in
        return session["locale"]
    return browser_locale()


def browser_locale() -> str:
    """The first default: the browser's Accept-Language (any Chinese variant reads the simplified catalog)."""
    match = request.accept_languages.best_match(["en", "zh-CN"])
    if match == "zh-CN":
        return "zh_CN"
    if match is None and any(lang.lower().startswith("zh") for lang, _ in request.accept_languages):
        return "zh_CN"
    return "en"


def select_timezone() -> str:
    user = _signed_in()
    zone = user.timezone if user is not None else None
    # A zone saved before only real IANA places were accepted ("Factory") would fail every page: the default.
    return zone if is_real_time_zone(zone) else default_timezone()


def default_timezone() -> str:
    """The bank's time zone: the active SLA profile's (checked to be a real IANA place when config is read)."""
    from app.web import current_runtime  # noqa: PLC0415 - app.web imports the pages package

    return current_runtime().settings.sla_profile.timezone


def _signed_in():
    # current_user may not be resolvable outside a request with a session (e.g. CLI rendering).
    try:
        return current_user if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):
        return None


def locale_code() -> str:
    """The current language as users and the switcher name it: ``en`` or ``zh_CN``."""
    return "zh_CN" if get_locale().language == "zh" else "en"
