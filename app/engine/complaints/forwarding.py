"""Complaints forwarded by a regulator, the media or a consumer association: who forwarded it, when, the deadline
it set for our answer, and where the reply goes.

A forwarding body is a ``forwarding_bodies`` code of config/classification.toml (names in both languages, the
intake channel it forwards through, the address a copy of the reply goes to); a channel is a forwarding channel
when a body in force forwards through it. Rules, checked at registration with every error naming its field:

* on a forwarding channel ``forwarded_by`` (a body of that channel), ``forwarded_reference``, ``forwarded_at``
  and ``reply_route`` are required; ``forwarded_due_at`` is optional (not every body sets a deadline);
* on any other channel none of them may be given (a stray reference would make a direct complaint look
  forwarded);
* the body forwarded it before it reached us (``forwarded_at`` not after ``received_at``, a date alone meaning
  that local day) and its deadline lies after receipt. A date alone as the deadline means close of business
  that day: the earlier reading, so the bank never answers late by reading the body's day generously.

The earliest deadline governs: deadlines/sla.py ``decision_due_at`` caps the case's answer SLA by
``forwarded_due_at``, for the handling timer and the acknowledgement letter alike. When the reply route includes
the body, the decision goes to it too (``send_reply``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from app.engine.complaints.receipt import N_, read_instant
from app.engine.config.classification import UnknownCode

if TYPE_CHECKING:
    from app.engine.config.classification import Classification, Entry
    from app.engine.config.settings import Settings
    from app.engine.letters import Letter
    from app.engine.models import Complaint, OutboxMessage
    from app.engine.process.service_tasks import ServiceContext

FIELDS = ("forwarded_by", "forwarded_reference", "forwarded_at", "forwarded_due_at", "reply_route")
REQUIRED = ("forwarded_by", "forwarded_reference", "forwarded_at", "reply_route")
CUSTOMER, BODY, BOTH = "customer", "body", "both"
REPLY_ROUTES = (CUSTOMER, BODY, BOTH)
COPY_KIND = "reply_to_forwarding_body"   # the outbox kind of the decision sent to the body

REQUIRED_HERE = N_("This field is required for a complaint forwarded by a regulator, the media or a consumer "
                   "association.")
NOT_FORWARDED = N_("Only a complaint that came in through a forwarding channel (regulator, media, consumer "
                   "association) has forwarding details.")
NOT_A_BODY = N_("Choose one of the listed forwarding bodies that forward through this channel.")
AFTER_RECEIPT = N_("The forwarding date cannot be after the complaint reached the bank.")
DUE_BEFORE_RECEIPT = N_("The forwarding body's deadline must be after the complaint reached the bank.")
NOT_A_ROUTE = N_("Choose whether the reply goes to the customer, to the forwarding body, or to both.")


@dataclass(frozen=True)
class Forwarded:
    """A forwarded complaint's facts as registered (all None for a direct complaint)."""

    forwarded_by: str | None = None
    forwarded_at: datetime | None = None
    forwarded_due_at: datetime | None = None
    reply_route: str | None = None


def forwarding_channels(classification: Classification, on: date) -> frozenset[str]:
    """The intake channels a body in force on ``on`` forwards through."""
    return frozenset(e.mappings["channel"] for e in _bodies(classification, on))


def checked(settings: Settings, data: dict, received_at: datetime,
            on: date) -> tuple[Forwarded, dict[str, list[str]]]:
    """The forwarding facts of a registration received at ``received_at`` (on the regime's day ``on``), and the
    errors by field."""
    channel = data.get("channel")
    given = {name for name in FIELDS if data.get(name) not in (None, "")}
    if not isinstance(channel, str) or channel not in forwarding_channels(settings.classification, on):
        return Forwarded(), {name: [NOT_FORWARDED] for name in sorted(given)}
    errors = {name: [REQUIRED_HERE] for name in REQUIRED if name not in given}
    profile = settings.sla_profile
    body = data.get("forwarded_by")
    if "forwarded_by" in given and body not in {e.code for e in _bodies(settings.classification, on)
                                                if e.mappings["channel"] == channel}:
        errors["forwarded_by"] = [NOT_A_BODY]
    route = data.get("reply_route")
    if "reply_route" in given and route not in REPLY_ROUTES:
        errors["reply_route"] = [NOT_A_ROUTE]
    forwarded_at = _instant(data, "forwarded_at", profile.timezone, time(0, 0), errors)
    if forwarded_at is not None and forwarded_at > received_at:
        errors["forwarded_at"] = [AFTER_RECEIPT]
    due = _instant(data, "forwarded_due_at", profile.timezone, profile.close_of_business, errors)
    if due is not None and due <= received_at:
        errors["forwarded_due_at"] = [DUE_BEFORE_RECEIPT]
    if errors:
        return Forwarded(), errors
    return Forwarded(forwarded_by=body, forwarded_at=forwarded_at, forwarded_due_at=due, reply_route=route), {}


def body_entry(classification: Classification, code: str | None) -> Entry | None:
    """The forwarding body ``code`` as the newest version that knows it has it (None: not forwarded, or unknown)."""
    try:
        return classification.entry("forwarding_bodies", code) if code else None
    except UnknownCode:
        return None


def send_reply(ctx: ServiceContext, complaint: Complaint, letter: Letter) -> OutboxMessage:
    """Queue the decision by the complaint's reply route: to the customer (a direct complaint, route customer or
    both) and to the forwarding body's address from config (route body or both). Returns the first message
    queued: the customer's, else the body's."""
    route = complaint.reply_route or CUSTOMER
    entry = body_entry(ctx.settings.classification, complaint.forwarded_by)
    address = entry.mappings.get("reply_address") if entry is not None else None
    messages = []
    if route in (CUSTOMER, BOTH) or not address:  # no address known: the customer is never left without it
        messages.append(ctx.send("reply", complaint.customer_contact, letter.subject, letter.body))
    if route in (BODY, BOTH) and address:
        reference = complaint.forwarded_reference or ""
        copy = ctx.send(COPY_KIND, address, f"{letter.subject} [{reference}]".strip(), letter.body)
        messages.append(copy)
        ctx.flush()  # the copy's id goes into the history
        ctx.audit("reply_sent_to_forwarding_body", message_id=copy.id, forwarded_by=complaint.forwarded_by,
                  forwarded_reference=complaint.forwarded_reference, reply_route=route)
    return messages[0]


def _bodies(classification: Classification, on: date) -> list[Entry]:
    return classification.entries("forwarding_bodies", on) if classification.versions else []


def _instant(data: dict, name: str, zone: str, day_at: time,
             errors: dict[str, list[str]]) -> datetime | None:
    value = data.get(name)
    if value in (None, "") or name in errors:
        return None
    try:
        return read_instant(value, zone, day_at=day_at)
    except ValueError as err:
        errors[name] = [str(err)]
        return None
