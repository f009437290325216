"""The audit trail page (finding M7): compliance and the head of complaints see the chain's state (how many
events are sealed, the last signed checkpoint and its key) and run a verification on demand, which names the
first broken or missing entry. The rules are the engine's (app/engine/audit); the permission is
config/permissions.toml ``audit.verify``."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.engine import audit
from app.engine.access import permissions
from app.engine.core.errors import NotAllowed
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.i18n import gettext as _

bp = Blueprint("audit_trail", __name__)
bp.before_request(signed_in_with_csrf)


@bp.before_request
def _verifiers_only():
    if current_user.is_authenticated and not nav_allowed(current_user.actor):
        raise NotAllowed(_("Only compliance and the head of complaints open the audit trail."))


def nav_allowed(actor) -> bool:
    return permissions.may(current_runtime().settings, actor, "audit.verify")


@bp.get("/audit")
def index():
    """The chain's state; with ``?verify=1`` a verification of the whole trail as committed now."""
    with current_runtime().unit_of_work() as uow:
        state = audit.trail_state(uow)
        result = audit.verify_trail(uow) if request.args.get("verify") else None
    return render_template("pages/audit_trail.html", state=state, result=result,
                           findings=[_finding_text(f) for f in result.findings] if result else [])


def _finding_text(finding: audit.Finding) -> dict:
    """A finding in the reader's language (the engine's English sentence is kept beside it for the record)."""
    chain = (_("the chain of complaint %(id)s", id=finding.complaint_id) if finding.chain == "complaint"
             else _("the global chain"))
    values = {"seq": finding.chain_seq, "event": finding.event_id, "chain": chain}
    texts = {
        "edited": _("Entry %(seq)s of %(chain)s (event %(event)s) does not match its hash: the event was edited.",
                    **values),
        "deleted": _("Entry %(seq)s of %(chain)s is missing: it was deleted.", **values),
        "reordered": _("Entry %(seq)s of %(chain)s (event %(event)s) is out of order: rows were reordered.",
                       **values),
        "checkpoint": _("The checkpoint at entry %(seq)s does not hold: its hash or signature is wrong.", **values),
        "unsealed": _("Event %(event)s was not sealed into the chain in time: is the scheduler running?", **values),
    }
    return {"kind": finding.kind, "text": texts[finding.kind], "detail": finding.message}
