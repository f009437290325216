"""Lookups in the complaint classification (config/classification.toml, loaded once with the settings) and the
mapping report of older free-text products.

A registration names codes: the product, the cause (``category``) and the place of business, each checked against
the classification in force on the day the complaint is received; an unknown code is an InvalidSubmission naming
the field (HTTP 422), never a stored guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine.config.classification import CODED_VARIABLES as CODED_VARIABLES
from app.engine.config.classification import NAMED_COLUMNS as NAMED_COLUMNS
from app.engine.config.classification import Entry, UnknownCode
from app.engine.config.classification import name_of as name_of
from app.engine.config.classification import names_for as names_for
from app.engine.config.classification import received_on as received_on
from app.engine.core.errors import InvalidSubmission
from app.engine.models import Complaint

if TYPE_CHECKING:
    from app.engine.config.classification import Classification
    from app.engine.runtime import UnitOfWork

# The registration's coded fields -> the classification list each names a code of.
CODED_FIELDS = {"product": "products", "category": "causes", "place_of_business": "places"}
# How pages and the API name codes (names_for, name_of: imported above, the lookups' one naming rule) is defined
# with the classification in app/engine/config, so the read policy, below this package, names them too.


def product(classification: Classification, code: str, on: date | None = None) -> Entry:
    """The product ``code`` in the version in force on ``on`` (None: in any version). UnknownCode otherwise."""
    return classification.entry("products", code, on)


def is_payment_services(classification: Classification, code: str | None) -> bool:
    """Whether ``code`` is a payment-services product (DISP: the 15/35-business-day decision track)."""
    return bool(code) and code in classification.payment_services_products()


def choices(classification: Classification, kind: str, language: str, on: date) -> list[tuple[str, str]]:
    """(code, name in ``language``) of a list's entries in force on ``on``, in the file's order."""
    return [(e.code, e.name(language)) for e in classification.entries(kind, on)]


def coded(classification: Classification, data: dict, on: date) -> dict[str, Entry]:
    """The entries the registration's coded fields name, in force on ``on``; InvalidSubmission naming every
    field whose code the classification does not know."""
    found: dict[str, Entry] = {}
    errors: dict[str, list[str]] = {}
    for name, kind in CODED_FIELDS.items():
        if data.get(name) is None:
            continue
        try:
            found[name] = classification.entry(kind, data[name], on)
        except UnknownCode as err:
            errors[name] = [str(err)]
    if errors:
        raise InvalidSubmission(errors)
    return found


# --- the mapping report --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MapReport:
    mapped: list[tuple[str, str, int]]    # (product code, its English name, complaints)
    unmapped: list[tuple[str, int]]       # (free text, complaints) of complaints without a product code
    suggestions: dict[str, str]           # unmapped text -> the code [legacy_products] gives it today, if any


def map_report(uow: UnitOfWork) -> MapReport:
    """How many complaints carry each product code, and the products left unmapped (by text, most frequent
    first), with what today's [legacy_products] table would map them to (after the table was extended)."""
    classification = uow.settings.classification
    rows = uow.session.execute(select(Complaint.product_code, func.count()).where(Complaint.product_code.is_not(None))
                               .group_by(Complaint.product_code)).all()
    mapped = sorted(((str(code), _name(classification, str(code)), n) for code, n in rows),
                    key=lambda r: (-r[2], r[0]))
    texts = uow.session.execute(select(Complaint.product, func.count()).where(Complaint.product_code.is_(None))
                                .group_by(Complaint.product)).all()
    unmapped = sorted(((text, n) for text, n in texts), key=lambda r: (-r[1], r[0]))
    suggestions = {text: code for text, _ in unmapped if (code := classification.legacy_product(text))}
    return MapReport(mapped=mapped, unmapped=unmapped, suggestions=suggestions)


def _name(classification: Classification, code: str) -> str:
    try:
        return classification.entry("products", code).en
    except UnknownCode:
        return "(not in the classification)"
