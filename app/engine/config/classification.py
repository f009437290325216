"""The complaint classification of config/classification.toml: products, causes, places of business and
outcomes as stable codes with names in both languages and their regulators' categories, versioned by effective
date. Read and checked once with the settings; lookups for the services are app/engine/complaints/classification.py.

What is checked at load, each error naming the file, the version and the code: a code twice in one list, a code
reused with another meaning in a later version (its English name, ignoring case and spacing, and for a product
its payment_services flag), a mapping to a label outside the file's [taxonomies], a missing name, an unknown
key, and legacy names or channel defaults that point at no code.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from app.engine.config.toml_files import read_toml

FILE_NAME = "classification.toml"
KINDS = ("products", "causes", "places", "outcomes", "forwarding_bodies", "root_causes", "referral_bodies")
# Lists a version may leave out: before forwarding bodies (root causes, referral bodies) were recorded, a version
# had none.
OPTIONAL_KINDS = frozenset({"forwarding_bodies", "root_causes", "referral_bodies"})
# The keys an entry of each kind may carry besides code, en, zh: its mappings (checked against [taxonomies] when
# the taxonomy is listed there) and its flags.
MAPPINGS = {
    "products": ("jrt0169_b", "fca_product", "cfpb_product", "cfpb_sub_product"),
    "causes": ("jrt0169_c", "fca_cause", "cfpb_issue", "cfpb_sub_issue"),
    "places": ("jrt0169_a",),
    "outcomes": (),
    # Not a regulator's category: the intake channel the body forwards through and where a copy of the reply
    # goes (app/engine/complaints/forwarding.py).
    "forwarding_bodies": ("channel", "reply_address"),
    # The bank's own causes of what went wrong (溯源整改, rectification), found when the resolution is drafted.
    "root_causes": (),
    # The outside bodies complaint management may refer a reopened case to (the reopen decision "refer"), each
    # for the regime (config/sla.toml profiles' regime) whose customers it serves: the form offers those only.
    "referral_bodies": ("regime",),
}
FLAGS = {"products": ("payment_services",), "causes": (), "places": (), "outcomes": ("fca_upheld",),
         "forwarding_bodies": (), "root_causes": (), "referral_bodies": ()}
REQUIRED = {"products": ("payment_services",)}


class ClassificationError(ValueError):
    """config/classification.toml breaks a rule; the message names where."""


class UnknownCode(LookupError):
    """A code the classification in force does not know. ``kind`` names the list (products, causes ...)."""

    def __init__(self, kind: str, code: object, on: date | None = None):
        self.kind, self.code, self.on = kind, code, on
        when = f" in force on {on.isoformat()}" if on else ""
        super().__init__(f"{code!r} is not a {kind[:-1]} code of the classification{when}")


@dataclass(frozen=True)
class Entry:
    """One coded product, cause, place of business or outcome."""

    kind: str
    code: str
    en: str
    zh: str
    mappings: dict[str, str] = field(default_factory=dict)   # taxonomy -> its label (jrt0169_b, fca_product ...)
    flags: dict[str, bool] = field(default_factory=dict)      # payment_services, fca_upheld

    def name(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True)
class Version:
    effective_from: date
    description: str
    entries: dict[str, dict[str, Entry]]   # kind -> code -> entry, in the file's order


@dataclass(frozen=True)
class Classification:
    versions: tuple[Version, ...] = ()                       # oldest first
    legacy_products: dict[str, str] = field(default_factory=dict)   # casefolded free text -> product code
    channel_places: dict[str, str] = field(default_factory=dict)    # intake channel -> default place code

    def in_force(self, on: date) -> Version:
        """The version in force on ``on``: the newest that took effect on or before it."""
        index = bisect_right([v.effective_from for v in self.versions], on)
        if index == 0:
            first = self.versions[0].effective_from.isoformat() if self.versions else "none"
            raise ClassificationError(f"config/{FILE_NAME}: no classification in force on {on.isoformat()} (the "
                                      f"first takes effect {first})")
        return self.versions[index - 1]

    def entry(self, kind: str, code: object, on: date | None = None) -> Entry:
        """The entry ``code`` of ``kind`` in the version in force on ``on`` (None: in any version, newest first)."""
        versions = [self.in_force(on)] if on is not None else list(reversed(self.versions))
        for version in versions:
            found = version.entries.get(kind, {}).get(code) if isinstance(code, str) else None
            if found is not None:
                return found
        raise UnknownCode(kind, code, on)

    def knows(self, kind: str, code: object) -> bool:
        return isinstance(code, str) and any(code in v.entries.get(kind, {}) for v in self.versions)

    def entries(self, kind: str, on: date) -> list[Entry]:
        return list(self.in_force(on).entries.get(kind, {}).values())

    def payment_services_products(self) -> frozenset[str]:
        """Every product code flagged payment_services (a code keeps its flag in every version)."""
        return frozenset(code for v in self.versions for code, e in v.entries.get("products", {}).items()
                         if e.flags.get("payment_services"))

    def legacy_product(self, text: str | None) -> str | None:
        """The product code a free-text product of an older complaint means, by the mapping table (else None)."""
        return self.legacy_products.get(text.strip().casefold()) if text else None


def load_classification(config_dir: Path) -> Classification:
    return classification_from(read_toml(Path(config_dir) / FILE_NAME))


def classification_from(data: dict) -> Classification:
    taxonomies = {name: frozenset(labels) for name, labels in data.get("taxonomies", {}).items()}
    raw_versions = data.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise ClassificationError(f"config/{FILE_NAME}: no [[versions]]; at least one is needed")
    versions = sorted((_version(raw, taxonomies) for raw in raw_versions), key=lambda v: v.effective_from)
    for earlier, later in pairwise(versions):
        if earlier.effective_from == later.effective_from:
            raise ClassificationError(f"config/{FILE_NAME}: two versions take effect on "
                                      f"{later.effective_from.isoformat()}")
    _check_no_reuse(versions)
    for version in versions:
        for code, body in version.entries.get("forwarding_bodies", {}).items():
            if not body.mappings.get("channel"):
                raise ClassificationError(f"config/{FILE_NAME}, version {version.effective_from.isoformat()}: "
                                          f"forwarding body {code!r} needs the channel it forwards through")
        for code, body in version.entries.get("referral_bodies", {}).items():
            if not body.mappings.get("regime"):
                raise ClassificationError(f"config/{FILE_NAME}, version {version.effective_from.isoformat()}: "
                                          f"referral body {code!r} needs the regime whose cases it takes")
    classification = Classification(versions=tuple(versions))
    legacy = {str(text).strip().casefold(): code for text, code in data.get("legacy_products", {}).items()}
    for text, code in legacy.items():
        if not classification.knows("products", code):
            raise ClassificationError(f"config/{FILE_NAME}: [legacy_products] {text!r} maps to unknown product "
                                      f"code {code!r}")
    places = dict(data.get("channel_places", {}))
    for channel, code in places.items():
        if not classification.knows("places", code):
            raise ClassificationError(f"config/{FILE_NAME}: [channel_places] {channel!r} names unknown place "
                                      f"code {code!r}")
    return Classification(versions=tuple(versions), legacy_products=legacy, channel_places=places)


def _version(raw: dict, taxonomies: dict[str, frozenset[str]]) -> Version:
    try:
        effective = date.fromisoformat(str(raw["effective_from"]))
    except (KeyError, ValueError):
        raise ClassificationError(f"config/{FILE_NAME}: every [[versions]] needs effective_from as a date "
                                  f"(2026-01-01), not {raw.get('effective_from')!r}") from None
    where = f"config/{FILE_NAME}, version {effective.isoformat()}"
    unknown = set(raw) - {"effective_from", "description", *KINDS}
    if unknown:
        raise ClassificationError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    entries: dict[str, dict[str, Entry]] = {}
    for kind in KINDS:
        listed: dict[str, Entry] = {}
        for item in raw.get(kind, []):
            entry = _entry(kind, item, taxonomies, where)
            if entry.code in listed:
                raise ClassificationError(f"{where}: {kind[:-1]} code {entry.code!r} is listed twice")
            listed[entry.code] = entry
        if not listed and kind not in OPTIONAL_KINDS:
            raise ClassificationError(f"{where}: lists no {kind}")
        entries[kind] = listed
    return Version(effective_from=effective, description=str(raw.get("description", "")), entries=entries)


def _entry(kind: str, item: dict, taxonomies: dict[str, frozenset[str]], where: str) -> Entry:
    code = item.get("code")
    if not isinstance(code, str) or not code.isidentifier() or code != code.lower() or len(code) > 40:
        raise ClassificationError(f"{where}: {kind[:-1]} code {code!r} must be lower-case letters, digits and _ "
                                  "(at most 40 characters)")
    where = f"{where}, {kind[:-1]} {code!r}"
    allowed = {"code", "en", "zh", *MAPPINGS[kind], *FLAGS[kind]}
    unknown = set(item) - allowed
    if unknown:
        raise ClassificationError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                                  f"{', '.join(sorted(allowed))}")
    for name in ("en", "zh"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise ClassificationError(f"{where}: needs its name in {name}")
    mappings = {}
    for taxonomy in MAPPINGS[kind]:
        label = item.get(taxonomy)
        if label is None:
            continue
        known = taxonomies.get(taxonomy)
        if known is not None and label not in known:
            raise ClassificationError(f"{where}: {taxonomy} {label!r} is not a label of [taxonomies] {taxonomy}")
        mappings[taxonomy] = str(label)
    flags = {}
    for flag in FLAGS[kind]:
        if flag in item and not isinstance(item[flag], bool):
            raise ClassificationError(f"{where}: {flag} must be true or false")
        if flag not in item and flag in REQUIRED.get(kind, ()):
            raise ClassificationError(f"{where}: needs {flag} (true or false)")
        flags[flag] = bool(item.get(flag, False))
    return Entry(kind=kind, code=code, en=item["en"].strip(), zh=item["zh"].strip(), mappings=mappings, flags=flags)


def _meaning(entry: Entry) -> tuple:
    return (" ".join(entry.en.casefold().split()), tuple(sorted(entry.flags.items())))


def _check_no_reuse(versions: list[Version]) -> None:
    """A code keeps its meaning in every version: its English name and its flags."""
    first: dict[tuple[str, str], tuple[Version, Entry]] = {}
    for version in versions:
        for kind, listed in version.entries.items():
            for code, entry in listed.items():
                seen = first.setdefault((kind, code), (version, entry))
                if _meaning(seen[1]) != _meaning(entry):
                    raise ClassificationError(
                        f"config/{FILE_NAME}, version {version.effective_from.isoformat()}: {kind[:-1]} code "
                        f"{code!r} is reused with another meaning ({entry.en!r}, {entry.flags}; version "
                        f"{seen[0].effective_from.isoformat()} has {seen[1].en!r}, {seen[1].flags}); give the new "
                        "meaning a new code")


# --- names for readers ------------------------------------------------------------------------------------

# The names a reader sees beside a complaint's codes: name field -> (classification list, the complaint's column).
NAMED_COLUMNS = {"product_name": ("products", "product_code"), "cause_name": ("causes", "category"),
                 "place_name": ("places", "place_code"), "outcome_name": ("outcomes", "outcome")}
# Process variables (task context, form data) that hold a code, -> the list it is a code of.
CODED_VARIABLES = {"product": "products", "category": "causes", "place_of_business": "places", "outcome": "outcomes",
                   "referral_body": "referral_bodies"}


def received_on(zone: str, received_at: datetime | str | None) -> date | None:
    """The day a complaint was received, in the regime's time zone (``zone``): the day whose classification
    names its codes, as registration checked them. None when unknown (then any version names a code)."""
    if not received_at:
        return None
    instant = datetime.fromisoformat(received_at) if isinstance(received_at, str) else received_at
    if instant.tzinfo is None:  # stored as UTC without an offset (SQLite)
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(zone)).date()


def name_of(classification: Classification, kind: str, code: object, language: str,
            on: date | None = None) -> str | None:
    """``code`` of list ``kind`` by its name in ``language`` (zh_CN | en) in the version in force on ``on``; a
    code that version retired or never had is named by the newest version that knows it. A value that is no
    code (an older complaint's free-text product, a process outcome such as ``resolved``) is None: the caller
    shows it as it is."""
    if not isinstance(code, str) or not classification.knows(kind, code):
        return None
    try:
        return classification.entry(kind, code, on).name(language)
    except (UnknownCode, ClassificationError):   # retired by then, or received before the first version
        return classification.entry(kind, code).name(language)


def names_for(classification: Classification, zone: str, complaint: object,
              language: str) -> dict[str, str | None]:
    """The names of a complaint's codes (product, cause, place of business, outcome) in ``language``, from the
    classification in force on the day it was received (``zone``: the regime's time zone). The one naming rule
    of pages and API; the product of an older complaint without a code is its text as registered."""
    on = received_on(zone, getattr(complaint, "received_at", None))
    names = {field: name_of(classification, kind, getattr(complaint, column, None), language, on)
             for field, (kind, column) in NAMED_COLUMNS.items()}
    text = getattr(complaint, "product", None)
    if names["product_name"] is None and text:
        names["product_name"] = str(text)
    return names
