"""Letters that did not go by wire (issue 26): the print queue and the letters the sender gave up on.

Coordinators and the head of complaints (``letter.dispatch``, config/permissions.toml) list the letters waiting
to be posted (oldest first) and the failed ones, open each letter as a PDF to print, and mark a printed letter
dispatched: only then is it sent, and the complaint's history says so. A failed letter is resent from here or from
its complaint's page (back to the sender; a second click is refused as a Conflict). The rules are the engine's
(app/engine/complaints/print_queue.py); this module renders.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.engine.complaints import print_queue
from app.engine.core.errors import Conflict, NotAllowed
from app.web import current_runtime
from app.web.pages import signed_in_with_csrf
from app.web.pages.i18n import gettext as _

bp = Blueprint("letters", __name__)
bp.before_request(signed_in_with_csrf)

# The letter's fonts: Noto if installed, else WenQuanYi (Debian fonts-noto-cjk / fonts-wqy-microhei), also in the
# page's margin boxes, so Chinese never falls back to a face without the glyphs.
FONTS = "'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'DejaVu Sans', sans-serif"


@bp.before_request
def _dispatchers_only():
    if current_user.is_authenticated and not nav_allowed(current_user.actor):
        raise NotAllowed(_("Only coordinators and the head of complaints handle the letters to post."))


def nav_allowed(actor) -> bool:
    return print_queue.may_dispatch(current_runtime().settings, actor)


@bp.get("/letters")
def index():
    with current_runtime().unit_of_work() as uow:
        to_post, failed = print_queue.undelivered(uow, current_user.actor)
    return render_template("pages/letters.html", to_post=to_post, failed=failed)


@bp.get("/letters/<int:message_id>.pdf")
def pdf(message_id: int):
    with current_runtime().unit_of_work() as uow:
        letter = print_queue.letter_to_print(uow, current_user.actor, message_id)
    html = render_template("pages/letter_print.html", letter=letter, fonts=FONTS)
    return Response(render_pdf(html), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="letter-{letter.id}.pdf"'})


@bp.post("/letters/<int:message_id>/dispatched")
def dispatched(message_id: int):
    try:
        with current_runtime().unit_of_work() as uow:
            print_queue.mark_dispatched(uow, current_user.actor, message_id)
    except Conflict:
        flash(_("This letter is no longer waiting to be posted."), "error")
    else:
        flash(_("The letter is recorded as posted."), "success")
    return redirect(url_for("letters.index"))


@bp.post("/letters/<int:message_id>/resend")
def resend(message_id: int):
    """Resend a failed letter; back to the complaint's page when the button was there (``from=complaint``)."""
    complaint_id = None
    try:
        with current_runtime().unit_of_work() as uow:
            complaint_id = print_queue.resend(uow, current_user.actor, message_id)
    except Conflict:
        flash(_("This letter has not failed (it may have been resent already): it was not sent again."), "error")
    else:
        flash(_("The letter will be sent again."), "success")
    back = request.form.get("complaint_id", type=int) if request.form.get("from") == "complaint" else None
    if back is not None and (complaint_id is None or back == complaint_id):
        return redirect(url_for("complaints.show", complaint_id=back))
    return redirect(url_for("letters.index"))


def render_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango and its fonts, which only printing needs.
    import weasyprint  # noqa: PLC0415

    return weasyprint.HTML(string=html).write_pdf()
