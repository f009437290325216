"""Letters to customers, in the customer's language, with the content their regime mandates; and notices to
staff (escalations, deadline warnings, instructions), in each recipient's language and time zone.

Templates are Jinja2 text files in English (templates/*.txt.j2), translated through the same gettext catalogs
as the pages (app/translations, the ones Flask-Babel reads; extracted with pybabel, compiled at install). The
engine renders them itself, without Flask, because letters are written inside a step. Each template sets
``subject``; its output is the body. Dates are shown in the regime's time zone, amounts in its currency, both
formatted for the language as written in the regime's country (``formatting_locale``: en_GB under the FCA).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.engine.config.classification import load_classification, name_of
from app.engine.config.letter_library import LetterLibrary, load_letter_library
from app.engine.config.settings import DEFAULT_CONFIG_DIR
from app.engine.letters import clauses
from app.engine.models.tasks import task_name

if TYPE_CHECKING:
    from app.engine.config.settings import SlaProfile
    from app.engine.models import User, UserTask

TEMPLATES = Path(__file__).resolve().parent / "templates"
CATALOGS = Path(__file__).resolve().parents[2] / "translations"
LANGUAGES = ("en", "zh_CN")
KINDS = ("acknowledgement", "holding_response", "extension_notice", "decision", "feedback_request",
         "summary_resolution", "review_notice", "verification_opinion", "decision_maintained", "referral_notice")
# The kinds whose body is the clause library's (their templates hold only the greeting and the signature): a
# regime the library has no list of that kind for gets no letter, never an empty one.
LIBRARY_KINDS = ("acknowledgement", "holding_response", "extension_notice", "decision", "summary_resolution",
                 "verification_opinion", "decision_maintained", "referral_notice")
# Notices to staff (escalations, deadline warnings, the head's instructions): the same machinery, in the
# recipient's own language and time zone.
NOTICE_KINDS = ("escalation_notice", "escalated_to_head", "escalated_to_executive", "deadline_warning",
                "instruction", "customer_reply_notice")

# CFPB's response categories, by the remedy the approved resolution offers.
CFPB_CATEGORIES = {
    "monetary_redress": "Closed with monetary relief",
    "non_monetary_redress": "Closed with non-monetary relief",
    "explanation": "Closed with explanation",
    "rejected_with_reasons": "Closed with explanation",
}


# A notice's "Open work": (diagram name, department name) of each open task, as ``open_work`` lists them.
OpenWork = list[tuple[str, str | None]]


@dataclass(frozen=True)
class Letter:
    kind: str
    language: str
    subject: str
    body: str


def language_for(requested: str | None, profile: SlaProfile) -> str:
    """The customer's language if we write it, else the regime's usual one."""
    if requested:
        normalized = requested.replace("-", "_")
        for language in LANGUAGES:
            if normalized.lower() == language.lower() or normalized.split("_")[0] == language.split("_")[0]:
                return language
    return profile.language


# The facts a library element may name without every case having them (None when absent).
LETTER_FACTS = ("reason", "customer_message", "facts_checked", "decision_basis", "remedy_type", "redress_amount",
                "redress_description", "resolution_outcome", "outcome_name", "ombudsman_consent", "response_category",
                "forwarded_by", "previous_decision_date", "reopen_count", "referral_from", "may_refer_now",
                "opinion", "opinion_text", "basis", "requested_on", "product", "previous_deadline",
                "maintain_reasons", "referral_body_name", "referral_reason")


def render_letter(kind: str, language: str, profile: SlaProfile, *, library: LetterLibrary | None = None,
                  **facts: object) -> Letter:
    """Render one letter. ``facts`` are the case's values; datetimes and amounts are formatted here. A kind the
    clause library lists for the regime (``library``, default the shipped config/letters.toml) is made of the
    library's elements, and refused (clauses.MissingLetterElements) when one the regulation mandates is missing."""
    if kind not in KINDS:
        raise ValueError(f"unknown letter {kind!r}; known: {', '.join(KINDS)}")
    language = language if language in LANGUAGES else profile.language
    raw = derived_facts(language, profile, facts)
    context: dict[str, object] = {"regime": profile.regime, "institution": profile.institution.get(language) or
                                  profile.institution.get("en", "")}
    for name, value in raw.items():
        context[name] = _format(value, name, language, profile)
    library = library if library is not None else shipped_library()
    # A kind the regulation mandates elements of is always checked: a library without the whole list is refused
    # (naming each element), never rendered from the template alone.
    listed = library.elements(profile.regime, kind) or (profile.regime, kind) in clauses.MANDATED
    if kind in LIBRARY_KINDS and not listed:
        raise clauses.MissingLetterElements(profile.regime, kind, [clauses.Missing(kind, None, (
            f"The clause library (sha256 {library.checksum[:12]}) has no {profile.regime} {kind} letter "
            f"([[{profile.regime}.{kind}]] in config/letters.toml)."))])
    context["elements"] = clauses.render_elements(library, profile.regime, kind, language, raw, context) \
        if listed else []
    template = _environment(language).get_template(f"{kind}.txt.j2")
    module = template.make_module(context)
    subject = module.subject  # type: ignore[attr-defined]  # set by the template: jinja2 cannot type its names
    return Letter(kind=kind, language=language, subject=str(subject).strip(), body=_tidy(str(module)))


def staff_language(user: User, profile: SlaProfile) -> str:
    """A staff member's language: the one they chose, else the regime's usual one."""
    locale = getattr(user, "locale", None)
    return locale if isinstance(locale, str) and locale in LANGUAGES else profile.language


def render_notice(kind: str, user: User, profile: SlaProfile, **facts: object) -> Letter:
    """A notice to a staff member (``user``), in their language, times in their time zone."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice {kind!r}; known: {', '.join(NOTICE_KINDS)}")
    language = staff_language(user, profile)
    zone = getattr(user, "timezone", None) or profile.timezone
    context = {name: _format(value, name, language, profile, zone) for name, value in facts.items()}
    # The open tasks by their diagram names and departments, translated like the pages' (the catalogs hold the
    # BPMN names and the department names).
    gettext = _translations(language).gettext
    work = cast("Iterable[tuple[str, str | None]]", facts.get("open_work", ()))
    context["open_work"] = ", ".join(f"{gettext(name)} ({gettext(department)})" if department else gettext(name)
                                     for name, department in work)
    module = _environment(language).get_template(f"{kind}.txt.j2").make_module(context)
    subject = module.subject  # type: ignore[attr-defined]  # set by the template: jinja2 cannot type its names
    return Letter(kind=kind, language=language, subject=str(subject).strip(), body=_tidy(str(module)))


def open_work(tasks: Iterable[UserTask], departments: Mapping[str, str]) -> OpenWork:
    """(diagram name, department name) of task rows, for a notice's "Open work" line: a department's task row
    is titled "<name> (<department>)" in English, and each half is translated on its own."""
    return [(task_name(task.title, task.department, departments),
             departments.get(task.department, task.department) if task.department else None) for task in tasks]


def derived_facts(language: str, profile: SlaProfile, facts: Mapping[str, object]) -> dict[str, object]:
    """The facts a letter is written from: the case's, every name the library may use (None when absent), and
    what follows from them (the CFPB response category of the remedy, the outcome's name in ``language``)."""
    raw: dict[str, object] = {**dict.fromkeys(LETTER_FACTS), **facts}
    if profile.regime == "cfpb" and raw.get("remedy_type"):
        category = CFPB_CATEGORIES.get(str(raw["remedy_type"]), "Closed with explanation")
        raw["response_category"] = _translations(language).gettext(category)
    if raw.get("resolution_outcome") and not raw.get("outcome_name"):
        raw["outcome_name"] = name_of(_shipped_classification(), "outcomes", raw["resolution_outcome"], language)
    return raw


def check_letter(kind: str, language: str, profile: SlaProfile, library: LetterLibrary,
                 facts: Mapping[str, object]) -> None:
    """Refuse (clauses.MissingLetterElements) a letter that would miss a mandated element: what drafting and
    approval ask before the letter is written."""
    clauses.check(library, profile.regime, kind, derived_facts(language, profile, facts))


@cache
def shipped_library() -> LetterLibrary:
    """config/letters.toml as shipped: what a letter rendered without a runtime's settings (a preview) uses."""
    return load_letter_library(DEFAULT_CONFIG_DIR)


@cache
def _shipped_classification():
    return load_classification(DEFAULT_CONFIG_DIR)


def _format(value: object, name: str, language: str, profile: SlaProfile, zone: str | None = None) -> object:
    if isinstance(value, datetime):
        # The regime's local date and time: the customer reads "by 15 March 2027 17:00", not an offset.
        try:
            local = value.astimezone(ZoneInfo(zone or profile.timezone))
        except (KeyError, ValueError):  # a time zone no longer known: the regime's
            local = value.astimezone(ZoneInfo(profile.timezone))
        locale = formatting_locale(language, profile)
        return f"{format_date(local, 'long', locale=locale)} {format_time(local, 'short', locale=locale)}"
    if isinstance(value, date):   # a day (the date of an earlier decision): the day as the regime writes it
        return format_date(value, "long", locale=formatting_locale(language, profile))
    if name.endswith("amount") and value not in (None, ""):
        try:
            return format_currency(Decimal(str(value)), profile.currency, locale=formatting_locale(language, profile))
        except InvalidOperation:
            return str(value)
    return value


def _tidy(body: str) -> str:
    lines = [line.rstrip() for line in body.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):   # at most one blank line between paragraphs
            tidy.append(line)
    return "\n".join(tidy) + "\n"


def formatting_locale(language: str, profile: SlaProfile) -> Locale:
    """How a letter in ``language`` writes dates and money under ``profile``: the language as spoken in the
    regime's country (its calendar's), e.g. English in the UK (7 December 2026, £) or the US (December 7, 2026,
    $); a language that names its own country (zh_CN), or one Babel knows no such variant of, as it is."""
    country = profile.calendar.country if profile.calendar is not None else None
    return _regional_locale(language, country.upper() if country else None)


@cache
def _regional_locale(language: str, country: str | None) -> Locale:
    base = _locale(language)
    if base.territory or not country:
        return base
    try:
        return Locale(base.language, country)
    except UnknownLocaleError:   # e.g. English in China: Babel has no en_CN, plain "en" it is
        return base


@cache
def _locale(language: str) -> Locale:
    # Parsed once per language: Babel parses a locale string on every call, scanning its list of locales.
    return Locale.parse(language)


@cache
def _translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    # A Locale, not the string: the catalog folder is named by the full locale (zh_Hans_CN), which the string
    # "zh_CN" never finds (the letters silently came out in English).
    return Translations.load(str(CATALOGS), [_locale(language)], domain="messages")


@cache
def _environment(language: str) -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.i18n"],
                              undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    # Added by the jinja2.ext.i18n extension at run time, so jinja2's types do not know it.
    environment.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment
