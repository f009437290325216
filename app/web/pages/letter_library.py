"""The clause library page (issue 26): compliance, process owners and the head of complaints read the letters'
elements by regime and language (config/letters.toml), with the library's checksum and sign-off trail; whoever may
submit it submits it, and a compliance officer who did not submit it signs it off. The rules are the engine's
(app/engine/governance/letter_library.py, config/permissions.toml ``letter_library.*``); this module renders."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine.core.errors import InvalidSubmission, NotAllowed, NotFound
from app.engine.governance import letter_library
from app.engine.letters.clauses import MANDATED
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.i18n import gettext as _

bp = Blueprint("letter_library", __name__)
bp.before_request(signed_in_with_csrf)

LANGUAGES = ("en", "zh_CN")


@bp.before_request
def _readers_only():
    if current_user.is_authenticated and not nav_allowed(current_user.actor):
        raise NotAllowed(_("Only compliance, process owners and the head of complaints read the letter library."))


def nav_allowed(actor) -> bool:
    return letter_library.may_read(current_runtime().settings, actor)


@bp.get("/letter-library")
def index():
    regime = request.args.get("regime", "")
    language = request.args.get("language", "en")
    with current_runtime().unit_of_work() as uow:
        state = letter_library.status(uow, current_user.actor)
    library = state["library"]
    regimes = library.regimes()
    regime = regime if regime in regimes else (regimes[0] if regimes else "")
    language = language if language in LANGUAGES else "en"
    lists = [(kind, elements, {m.element for m in MANDATED.get((r, kind), ())})
             for (r, kind), elements in library.lists.items() if r == regime]
    return render_template("pages/letter_library.html", state=state, regimes=regimes, regime=regime,
                           language=language, languages=LANGUAGES, lists=lists)


@bp.post("/letter-library/submit")
def submit():
    try:
        with current_runtime().unit_of_work() as uow:
            letter_library.submit(uow, current_user.actor, comment=request.form.get("comment", ""))
    except InvalidSubmission as err:
        flash(" ".join(m for ms in err.errors.values() for m in ms), "error")
    else:
        flash(_("The letter library is submitted for sign-off."), "success")
    return redirect(url_for("letter_library.index"))


@bp.post("/letter-library/sign-off")
def sign_off():
    decision = "rejected" if request.form.get("decision") == "reject" else "approved"
    try:
        with current_runtime().unit_of_work() as uow:
            letter_library.decide(uow, current_user.actor, request.form.get("checksum", ""), decision,
                                  request.form.get("comment", ""))
    except InvalidSubmission as err:
        flash(" ".join(_(m) for ms in err.errors.values() for m in ms), "error")
    except (NotAllowed, NotFound) as err:
        flash(_(err.message), "error")
    else:
        flash(_("The letter library is signed off.") if decision == "approved" else
              _("The letter library is rejected."), "success")
    return redirect(url_for("letter_library.index"))
