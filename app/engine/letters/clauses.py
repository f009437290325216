"""The mandated-element check and the rendering of a letter from the clause library (config/letters.toml).

What each regime's letter must contain is the regulation's, so it is written here once (``MANDATED``), not in
the library compliance edits: a library that loses one of these elements is caught, whatever its own
``mandatory`` flags say. A letter is refused (``MissingLetterElements``, an InvalidSubmission naming each
missing element and the field it needs) when a mandated element is not in the library, when the case lacks a
fact a mandatory element needs, or when a mandated element's condition leaves it out of a case it applies to.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from app.engine.core.errors import InvalidSubmission

if TYPE_CHECKING:
    from app.engine.config.letter_library import Element, LetterLibrary


def _reopened(facts: Mapping[str, object]) -> bool:
    return bool(facts.get("reopen_count"))


def _cfpb_case(facts: Mapping[str, object]) -> bool:
    return facts.get("forwarded_by") == "cfpb"


def _always(facts: Mapping[str, object]) -> bool:
    return True


@dataclass(frozen=True)
class Mandate:
    element: str
    applies: Callable[[Mapping[str, object]], bool] = _always


# (regime, letter kind) -> the elements the regulation requires, each with the cases it applies to.
MANDATED: dict[tuple[str, str], tuple[Mandate, ...]] = {
    # CBIRC Order 2020 No. 3: facts checked, basis, decision, and verification (核查) within 30 days.
    ("cbirc", "decision"): (Mandate("facts"), Mandate("basis"), Mandate("decision"), Mandate("verification_right"),
                            Mandate("previous_decision", _reopened)),
    # DISP 1.6.2R and DISP 1 Annex 3R.
    ("disp", "decision"): (Mandate("outcome"), Mandate("reasons"), Mandate("redress"), Mandate("ombudsman_leaflet"),
                           Mandate("six_month_right"), Mandate("time_limit_wording"),
                           Mandate("previous_decision", _reopened)),
    # CFPB portal: the response category; "recorded with the CFPB" only for complaints that came through it.
    ("cfpb", "decision"): (Mandate("reasons"), Mandate("response_category"), Mandate("cfpb_recorded", _cfpb_case),
                           Mandate("previous_decision", _reopened)),
    # DISP 1.5.4R summary resolution communication: resolved, the Ombudsman if later dissatisfied, whether we
    # consent to waive the time limits, the Ombudsman's website and that more information is there.
    ("disp", "summary_resolution"): (Mandate("resolved"), Mandate("ombudsman_referral"),
                                     Mandate("time_limit_wording"), Mandate("fos_website"),
                                     Mandate("fos_information")),
    # DISP 1.6.2R(2) holding response (also the payment services' holding reply): why not yet, when we expect
    # to answer, the Ombudsman referral right and its leaflet.
    ("disp", "holding_response"): (Mandate("not_yet"), Mandate("reason"), Mandate("expected_date"),
                                   Mandate("ombudsman_referral"), Mandate("ombudsman_leaflet")),
    # CBIRC verification (核查): the opinion, its basis and the recourse left (mediation, arbitration, court).
    ("cbirc", "verification_opinion"): (Mandate("opinion"), Mandate("basis"), Mandate("recourse")),
    # The reopen decision (issue 27): a decision maintained after the customer's review request says it stands,
    # why, and restates the referral rights of the regime's final response (CBIRC: verification within 30 days;
    # DISP: the Ombudsman, the six months, the Annex 3 wording and its leaflet); a referral names the body and why.
    ("cbirc", "decision_maintained"): (Mandate("maintained"), Mandate("reasons"), Mandate("verification_right")),
    ("disp", "decision_maintained"): (Mandate("maintained"), Mandate("reasons"), Mandate("six_month_right"),
                                      Mandate("time_limit_wording"), Mandate("ombudsman_leaflet")),
    ("cfpb", "decision_maintained"): (Mandate("maintained"), Mandate("reasons")),
    **{(regime, "referral_notice"): (Mandate("referred"), Mandate("reason")) for regime in ("cbirc", "disp", "cfpb")},
    # An extended deadline (CBIRC's complex case, CFPB's "in progress"): the new deadline and the reason.
    ("cbirc", "extension_notice"): (Mandate("new_deadline"), Mandate("reason")),
    ("cfpb", "extension_notice"): (Mandate("new_deadline"), Mandate("reason")),
    # The acknowledgement (DISP 1.6.1R prompt acknowledgement; CBIRC acceptance): receipt, the tracking number
    # and the decision deadline.
    **{(regime, "acknowledgement"): (Mandate("receipt"), Mandate("tracking_number"), Mandate("decision_deadline"))
       for regime in ("cbirc", "disp", "cfpb")},
}


@dataclass(frozen=True)
class Missing:
    element: str
    field: str | None      # the fact it needs (None: the element itself is missing from the library)
    reason: str

    def __str__(self) -> str:
        return self.reason


class MissingLetterElements(InvalidSubmission):
    """The letter lacks a mandated element. ``missing``: each one, with the field it needs."""

    def __init__(self, regime: str, kind: str, missing: list[Missing]):
        errors: dict[str, list[str]] = {}
        for item in missing:
            errors.setdefault(item.field or "", []).append(item.reason)
        names = ", ".join(dict.fromkeys(m.element for m in missing))
        super().__init__(errors, f"The {regime} {kind} letter cannot be written: mandated element(s) missing: "
                                 f"{names}. " + " ".join(m.reason for m in missing))
        self.missing = missing


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@cache
def _environment() -> SandboxedEnvironment:
    # The texts: a name the snippet prints that the letter does not have is an error, never a blank.
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@cache
def _conditions() -> SandboxedEnvironment:
    # The conditions: a fact the case does not have is simply false (a CFPB condition on a UK case); a mandated
    # element whose condition is wrongly false is still caught by ``missing_elements``.
    return SandboxedEnvironment(autoescape=False)


def _holds(element: Element, facts: Mapping[str, object]) -> bool:
    if element.when is None:
        return True
    return bool(_conditions().compile_expression(element.when, undefined_to_none=True)(**facts))


def missing_elements(library: LetterLibrary, regime: str, kind: str, facts: Mapping[str, object]) -> list[Missing]:
    """What keeps the letter from being written; empty: it may be written."""
    elements = {e.id: e for e in library.elements(regime, kind)}
    missing: list[Missing] = []
    mandated = {m.element for m in MANDATED.get((regime, kind), ()) if m.applies(facts)}
    for name in sorted(mandated - set(elements)):
        missing.append(Missing(name, None, f"The clause library (sha256 {library.checksum[:12]}) has no element "
                                           f"'{name}' for {regime} {kind} letters, which the regulation mandates."))
    for element in elements.values():
        required = element.mandatory or element.id in mandated
        if not required:
            continue
        if not _holds(element, facts):
            if element.id in mandated:
                missing.append(Missing(element.id, (element.needs or (None,))[0],
                                       f"The mandated element '{element.id}' applies to this case but its "
                                       f"condition ({element.when}) leaves it out."))
            continue
        for name in element.needs:
            if _empty(facts.get(name)):
                missing.append(Missing(element.id, name, f"The element '{element.id}' of the letter needs "
                                                         f"'{name}'."))
    return missing


def check(library: LetterLibrary, regime: str, kind: str, facts: Mapping[str, object]) -> None:
    missing = missing_elements(library, regime, kind, facts)
    if missing:
        raise MissingLetterElements(regime, kind, missing)


def render_elements(library: LetterLibrary, regime: str, kind: str, language: str,
                    facts: Mapping[str, object], context: Mapping[str, object]) -> list[str]:
    """The letter's paragraphs in the library's order: each element whose condition holds (on the raw ``facts``)
    and whose facts are there, its snippet rendered with the formatted ``context``. Checks first: a letter
    missing a mandated element is refused, never written without it."""
    check(library, regime, kind, facts)
    paragraphs = []
    for element in library.elements(regime, kind):
        if not _holds(element, facts) or any(_empty(facts.get(name)) for name in element.needs):
            continue
        names = {**dict.fromkeys(element.needs), **context}
        text = _environment().from_string(element.texts.get(language) or element.texts["en"]).render(**names)
        if text.strip():
            paragraphs.append(text.strip())
    return paragraphs
