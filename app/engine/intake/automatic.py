"""Mail no person wrote, which is never answered and never becomes a task: auto-replies (RFC 3834 and the
vendors' older headers), mailing-list and bulk mail, and bounces (RFC 3464 delivery status notifications, the
empty return path, MAILER-DAEMON). The reason is recorded with the message."""
from __future__ import annotations

from email.utils import parseaddr

from app.engine.intake.messages import InboundMail

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def reason(mail: InboundMail) -> str | None:
    """Why ``mail`` is automatic (a short code), or None for a message a person wrote."""
    headers = {name.lower(): (value or "").strip() for name, value in mail.headers.items()}
    if mail.content_type.lower() == "multipart/report" and (mail.report_type or "").lower() == "delivery-status":
        return "bounce"
    if headers.get("return-path", "").replace(" ", "") == "<>":
        return "bounce"
    local = parseaddr(mail.sender)[1].split("@")[0].lower()
    if local in DAEMONS:
        return "bounce"
    submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return "auto_submitted"
    if "x-autoreply" in headers or "x-autorespond" in headers or "x-autoresponse" in headers:
        return "auto_reply"
    if headers.get("precedence", "").lower() in BULK_PRECEDENCE:
        return "bulk"
    if "list-id" in headers:
        return "mailing_list"
    return None
