"""Personal data in the audit trail, kept apart from the hash-chained rows so that retention can erase it.

Which values: those of the keys config/audit.toml ``personal_fields`` names (``action:key``: in that action's events
only, for keys such as ``reason`` that elsewhere hold a code) plus every free-text field of the forms
in app/forms/ (a string without enum, oneOf, format or pattern, inside arrays of objects too; a date, ``*_at``, is
not one), wherever the key stands in an event's detail, before or after, at any depth; the whole value under such
a key (an object or list included) is one personal value. None is not personal data and stays inline.

``seal`` (called by the one writer, audit.record) moves each such value to ``audit_personal_data`` with a random
salt and puts {"personal": hex HMAC-SHA256(salt, canonical JSON of the value)} in its place; the chain hashes the
row as stored, commitments included (chain.py is unchanged), so erasing the content later leaves it intact.
Events written before this module keep their values inline and verify as they always did.

``reveal`` is the one way readers get the values back; an erased value reads as ``REMOVED``. ``erase`` is the
retention job's; ``check`` is `audit verify`'s: each stored content must match its commitment, and the commitment
must stand in its event (the chained row), so neither can be changed alone.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.engine.config.audit import load_audit_settings
from app.engine.config.settings import DEFAULT_CONFIG_DIR, DEFAULT_FORMS_DIR
from app.engine.models import AuditEvent, AuditPersonalData, Complaint

if TYPE_CHECKING:
    from app.engine.config.settings import Settings

COMMITMENT = "personal"
# What a reader sees in place of a value the retention job erased (translated by the pages).
REMOVED = "removed under the retention rule"
BATCH = 2000


# session.info key: the names of the transaction's settings, for events recorded with a bare session.
_NAMES = "audit_personal_names"


def personal_names(settings: Settings) -> frozenset[str]:
    """The configured names and the forms' free-text fields."""
    return frozenset(settings.audit.personal_fields) | _form_free_text(Path(settings.forms_dir))


def use(session: Session, settings: Settings) -> frozenset[str]:
    """Remember the settings' names for this session's transaction (a service task records with the session)."""
    names = session.info[_NAMES] = personal_names(settings)
    return names


def names_of(session: Session) -> frozenset[str]:
    """The names remembered for this session, else those of the project's own config and forms."""
    names = session.info.get(_NAMES)
    if names is None:
        names = frozenset(load_audit_settings(DEFAULT_CONFIG_DIR).personal_fields) | _form_free_text(
            DEFAULT_FORMS_DIR)
    return names


@lru_cache(maxsize=8)
def _form_free_text(forms_dir: Path) -> frozenset[str]:
    names: set[str] = set()
    for path in sorted(forms_dir.glob("*.schema.json")):
        names |= _free_text(json.loads(path.read_text(encoding="utf-8")).get("properties", {}))
    return frozenset(names)


def _free_text(properties: dict) -> set[str]:
    found = set()
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        declared = spec.get("type")
        types: list = declared if isinstance(declared, list) else [declared]
        if ("string" in types and not {"enum", "oneOf", "format", "pattern"} & set(spec)
                and not name.endswith("_at")):
            found.add(name)
        if "array" in types and isinstance(spec.get("items"), dict):
            found |= _free_text(spec["items"].get("properties", {}))
    return found


# --- writing -------------------------------------------------------------------------------------------------

def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def commitment(salt: str, value: object) -> str:
    return hmac.new(bytes.fromhex(salt), canonical(value), hashlib.sha256).hexdigest()


def seal(session: Session, event: AuditEvent, names: frozenset[str]) -> int:
    """Move the event's personal values out of it (before it is flushed); how many were moved."""
    rows: list[AuditPersonalData] = []
    for column in ("detail", "before", "after"):
        values = getattr(event, column)
        if values is not None:
            setattr(event, column, _commit(values, _names_for(names, event.action), event, rows))
    session.add_all(rows)
    return len(rows)


def _names_for(names: frozenset[str], action: str) -> frozenset[str]:
    """The plain names, and the key of each ``action:key`` naming this action."""
    return frozenset(n for n in names if ":" not in n) | frozenset(
        n.split(":", 1)[1] for n in names if n.startswith(f"{action}:"))


def _commit(value: Any, names: frozenset[str], event: AuditEvent, rows: list[AuditPersonalData]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in names and item is not None and not _is_commitment(item):
                salt = secrets.token_hex(16)
                digest = commitment(salt, item)
                rows.append(AuditPersonalData(event=event, salt=salt, commitment=digest, content={"value": item}))
                out[key] = {COMMITMENT: digest}
            else:
                out[key] = _commit(item, names, event, rows)
        return out
    if isinstance(value, list):
        return [_commit(item, names, event, rows) for item in value]
    return value


def _is_commitment(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {COMMITMENT} and isinstance(value[COMMITMENT], str)


# --- reading -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Revealed:
    """An event with its personal values joined back (``REMOVED`` where erased)."""

    event: AuditEvent
    detail: dict
    before: dict | None
    after: dict | None


def reveal(session: Session, events: Iterable[AuditEvent]) -> list[Revealed]:
    """The events as people read them: the one place audit personal data is joined back."""
    events = list(events)
    contents: dict[str, object] = {}
    ids = [e.id for e in events]
    for start in range(0, len(ids), BATCH):
        for row in session.scalars(select(AuditPersonalData)
                                   .where(AuditPersonalData.event_id.in_(ids[start:start + BATCH]))):
            contents[row.commitment] = REMOVED if row.content is None else row.content.get("value")
    return [Revealed(e, _join(e.detail or {}, contents), _join(e.before, contents), _join(e.after, contents))
            for e in events]


def _join(value: Any, contents: dict[str, object]) -> Any:
    if _is_commitment(value):
        # A commitment without its row reads as removed: the value is not there to show.
        return contents.get(value[COMMITMENT], REMOVED)
    if isinstance(value, dict):
        return {k: _join(v, contents) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, contents) for v in value]
    return value


# --- erasing -------------------------------------------------------------------------------------------------

def erase(session: Session, complaint_id: int, now: datetime) -> int:
    """Erase the personal contents of a complaint's events (the commitments stay); how many were erased."""
    events = select(AuditEvent.id).where(AuditEvent.complaint_id == complaint_id)
    result = session.execute(update(AuditPersonalData)
                             .where(AuditPersonalData.event_id.in_(events), AuditPersonalData.erased_at.is_(None))
                             .values(content=None, erased_at=now)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- verifying -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mismatch:
    event_id: int
    complaint_id: int | None
    message: str


def check(session: Session, complaint_id: int | None = None, batch: int = BATCH) -> Iterator[Mismatch]:
    """Each stored content against its commitment, each commitment against its (chained) event, each event's
    commitments against the stored rows (a row deleted: the history would show the value as erased), and each
    erased content against its complaint (only the retention job erases, and only an anonymised case's)."""
    yield from _contents_against_events(session, complaint_id, batch)
    yield from _events_against_contents(session, complaint_id, batch)


def _events_against_contents(session: Session, complaint_id: int | None, batch: int) -> Iterator[Mismatch]:
    last = 0
    while True:
        query = (select(AuditEvent.id, AuditEvent.complaint_id, AuditEvent.detail, AuditEvent.before,
                        AuditEvent.after, Complaint.anonymised_at)
                 .outerjoin(Complaint, Complaint.id == AuditEvent.complaint_id)
                 .where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch))
        if complaint_id is not None:
            query = query.where(AuditEvent.complaint_id == complaint_id)
        events = session.execute(query).all()
        if not events:
            return
        last = events[-1][0]
        committed = {event_id: set(_commitments((detail, before, after)))
                     for event_id, _, detail, before, after, _ in events}
        stored: dict[int, dict[str, bool]] = {}
        wanted = [event_id for event_id, commitments in committed.items() if commitments]
        if wanted:
            # Erased: no content (a JSON null in the column, so asked in Python, not with IS NULL) or stamped.
            for event_id, value, content, erased_at in session.execute(
                    select(AuditPersonalData.event_id, AuditPersonalData.commitment, AuditPersonalData.content,
                           AuditPersonalData.erased_at).where(AuditPersonalData.event_id.in_(wanted))):
                stored.setdefault(event_id, {})[value] = content is None or erased_at is not None
        for event_id, event_complaint, _, _, _, anonymised_at in events:
            rows = stored.get(event_id, {})
            for value in committed[event_id] - rows.keys():
                yield Mismatch(event_id, event_complaint, f"event {event_id}: the personal data behind commitment "
                               f"{value[:12]}… was deleted (retention erases the content and keeps the row)")
            if any(rows.values()) and anonymised_at is None:
                yield Mismatch(event_id, event_complaint, f"event {event_id}: personal data was erased, but its "
                               "complaint was never anonymised by the retention job")


def _contents_against_events(session: Session, complaint_id: int | None, batch: int) -> Iterator[Mismatch]:
    last = ""
    while True:
        query = (select(AuditPersonalData, AuditEvent.complaint_id, AuditEvent.detail, AuditEvent.before,
                        AuditEvent.after)
                 .join(AuditEvent, AuditEvent.id == AuditPersonalData.event_id)
                 .where(AuditPersonalData.id > last).order_by(AuditPersonalData.id).limit(batch))
        if complaint_id is not None:
            query = query.where(AuditEvent.complaint_id == complaint_id)
        rows = session.execute(query).all()
        if not rows:
            return
        for row, event_complaint, detail, before, after in rows:
            last = row.id
            where = f"personal data {row.id} of event {row.event_id}"
            if row.commitment not in set(_commitments((detail, before, after))):
                yield Mismatch(row.event_id, event_complaint, f"{where}: its commitment is not in the event: the "
                               "personal data was edited")
            elif row.content is not None and not hmac.compare_digest(
                    commitment(row.salt, row.content.get("value")), row.commitment):
                yield Mismatch(row.event_id, event_complaint, f"{where} does not match its commitment: the personal "
                               "data was edited")


def _commitments(value: Any) -> Iterator[str]:
    if _is_commitment(value):
        yield value[COMMITMENT]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _commitments(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _commitments(item)
