"""The outbox sender: delivers the messages steps wrote, after their transaction committed.

An adapter like the scheduler: it claims a batch (one unit of work), sends each message through a transport
outside any transaction, and records each result (one unit of work each). A message that cannot be sent, for
whatever reason (no e-mail address, a refusal, a defect in building it), is that message's failure: it is
recorded with its reason and its one incident (app/engine/complaints/outbox.py), and the batch goes on. Transient
errors (connection, SMTP 4xx) are retried with backoff; anything else is given up at once. Delivery is at least
once (see outbox.py): the stable Message-ID lets a receiver drop a copy sent again after a sender crash.

Headers are built only from a validated single address (app/engine/complaints/contacts.py) through
email.headerregistry, under the e-mail policy that refuses a line break in any header: no contact, however it
got into the database, can add a header or a recipient. The SMTP envelope names that one address.

The channel follows the contact's kind (contacts.kind_of): an e-mail address by the e-mail transport; a phone
number by SMS (app/sms.py: an HTTP gateway, or .txt files under instance/sms/ in development); a postal address
into the print queue (state ``to_post``), where staff print the letter and mark it posted
(app/engine/complaints/print_queue.py). Only a message that left is ``sent``; the history says how.

Transports: SMTP to a configured server, or in development `.eml` files under instance/outbox/ (open them with any
mail program).
    COMPLAINTFLOW_SMTP_URL   smtp://user:password@host:587?starttls=1   (unset: write .eml files)
    COMPLAINTFLOW_MAIL_FROM  sender address, default complaints@bank.example
"""
from __future__ import annotations

import hashlib
import logging
import os
import smtplib
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from app.engine.access.read_policy import CUSTOMER_MESSAGE_KINDS
from app.engine.complaints import contacts, outbox
from app.engine.config.settings import PROJECT_ROOT
from app.engine.core.actors import SYSTEM
from app.sms import SmsRefused, sms_from_environment, sms_texts

log = logging.getLogger(__name__)

DEFAULT_FROM = "complaints@bank.example"
# The standard policy with CRLF line ends; like every EmailPolicy it refuses CR or LF in a header value.
MAIL_POLICY = policy.SMTP


class PermanentFailure(Exception):
    """The message can never be delivered as it is (e.g. no e-mail address, mailbox refused with 5xx)."""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0            # will be retried
    given_up: int = 0          # became incidents
    to_post: int = 0           # went into the print queue
    errors: list[str] = field(default_factory=list)


class FileTransport:
    """Development transport: each message becomes an .eml file, named after its idempotency key so a
    repeated delivery would overwrite, not duplicate."""

    channel = "file"   # how the history says the message left

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, email: EmailMessage, key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(bytes(email))
        temporary.replace(path)

    def __str__(self) -> str:
        return f"files in {self.directory}"


class SmtpTransport:
    channel = "email"

    def __init__(self, host: str, port: int = 25, *, username: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 30):
        self.host, self.port, self.username, self.password = host, port, username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, email: EmailMessage, key: str) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                # The envelope is the one checked address of the To header, never a list read from headers.
                smtp.send_message(email, to_addrs=[envelope_recipient(email)])
        except smtplib.SMTPNotSupportedError as err:  # e.g. an internationalised address, a server without SMTPUTF8
            raise PermanentFailure(f"the mail server cannot take this message: {err}") from err
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"the mail server refused the recipient: {err.recipients}") from err
            raise
        except smtplib.SMTPResponseException as err:
            if 500 <= err.smtp_code < 600:
                raise PermanentFailure(f"the mail server refused the message: {err.smtp_code} "
                                       f"{err.smtp_error!r}") from err
            raise

    def __str__(self) -> str:
        return f"SMTP {self.host}:{self.port}"


def transport_from_environment():
    url = os.environ.get("COMPLAINTFLOW_SMTP_URL")
    if not url:
        return FileTransport(PROJECT_ROOT / "instance" / "outbox")
    parsed = urlparse(url)
    if parsed.scheme != "smtp" or not parsed.hostname:
        raise ValueError(f"COMPLAINTFLOW_SMTP_URL must look like smtp://user:password@host:587?starttls=1, "
                         f"not {parsed.scheme}://...")
    options = parse_qs(parsed.query)
    return SmtpTransport(parsed.hostname, parsed.port or 25, username=unquote(parsed.username or "") or None,
                         password=unquote(parsed.password or "") or None,
                         starttls=options.get("starttls", ["0"])[0] in ("1", "true", "yes"))


def envelope_recipient(email: EmailMessage) -> str:
    header = email["To"]
    addresses: tuple[Address, ...] = header.addresses if header is not None else ()
    if len(addresses) != 1:
        raise PermanentFailure(f"a message goes to exactly one address, not {len(addresses)}")
    return addresses[0].addr_spec


def sender_address(sender: str) -> Address:
    """COMPLAINTFLOW_MAIL_FROM as an address (a configuration error stops the sender before any message)."""
    if "\r" in sender or "\n" in sender:
        raise ValueError("COMPLAINTFLOW_MAIL_FROM must be one e-mail address on one line")
    return Address(addr_spec=sender.strip())


def build_email(message: outbox.ClaimedMessage, sender: str | Address, now) -> EmailMessage:
    try:
        recipient = contacts.mail_recipient(message.recipient)
    except contacts.NotMailable as err:
        raise PermanentFailure(f"{outbox.one_line(message.recipient)!r} is not an e-mail address we may write "
                               f"to: {err}") from err
    sender = sender if isinstance(sender, Address) else sender_address(sender)
    email = EmailMessage(policy=MAIL_POLICY)
    email["From"] = sender
    email["To"] = Address(addr_spec=recipient)
    email["Subject"] = " ".join(message.subject.split())  # our text, but one line whatever a template made
    email["Date"] = format_datetime(now)
    # Stable per message: a receiving system can discard a copy sent again after a sender crash, and a reply's
    # In-Reply-To names the message it answers (e-mail intake threads it to its case: app/engine/intake).
    email["Message-ID"] = outbox.message_id(message.id, message.idempotency_key, sender.domain or "complaintflow")
    email["X-Complaintflow-Message"] = str(message.id)
    email.set_content(message.body)
    return email


def deliver_due(runtime, transport=None, *, sms=None, batch: int = 50,
                max_batches: int | None = None) -> DeliveryReport:
    """Send every message that is due now, batch after batch, until none is left for this sender. ``transport``
    sends e-mail, ``sms`` text messages (both default to the environment's)."""
    transport = transport or transport_from_environment()
    sms = sms or sms_from_environment()
    sender = sender_address(os.environ.get("COMPLAINTFLOW_MAIL_FROM", DEFAULT_FROM))
    report = DeliveryReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with runtime.unit_of_work() as uow:
            claimed_at = uow.now()
            claimed = outbox.claim_due(uow, claimed_at, batch)
        if not claimed:
            break
        for position, message in enumerate(claimed):
            if runtime.clock.now() >= claimed_at + outbox.SEND_WITHIN:
                # The batch has taken half its lease: the rest goes back rather than being sent under a lease
                # that may run out mid-send (another sender would then claim and send it too).
                with runtime.unit_of_work() as uow:
                    outbox.release(uow, claimed[position:])
                break
            _deliver_one(runtime, transport, sms, sender, message, report)
    if report.sent or report.failed or report.given_up or report.to_post:
        log.info("outbox via %s and %s: %d sent, %d to retry, %d given up, %d to post", transport, sms, report.sent,
                 report.failed, report.given_up, report.to_post)
    return report


def _deliver_one(runtime, transport, sms, sender: Address, message: outbox.ClaimedMessage,
                 report: DeliveryReport) -> None:
    """Send one message and record its result in a unit of work of its own. Whatever sending raises is this
    message's failure, never the batch's. Recording raises only when the database does (then the message waits
    for its lease to end, and the rest of the batch for theirs: nothing more is sent while nothing is recorded)."""
    # Letters to customers go by their contact's kind; staff notices only ever by e-mail (a staff member without
    # an address fails, as before: their user name is no postal address).
    kind = contacts.kind_of(message.recipient) if message.kind in CUSTOMER_MESSAGE_KINDS else contacts.EMAIL
    if kind == contacts.POSTAL:
        with runtime.unit_of_work() as uow:
            outbox.record_to_post(uow, SYSTEM, message, uow.now())
        report.to_post += 1
        return
    by_sms = kind == contacts.PHONE
    permanent, error = False, None
    try:
        if by_sms:
            sms.send(message.recipient.strip(), sms_texts(message.subject, message.body), message.idempotency_key)
        else:
            transport.send(build_email(message, sender, runtime.clock.now()), message.idempotency_key)
    except (PermanentFailure, SmsRefused) as err:
        permanent, error = True, str(err)
    except smtplib.SMTPException as err:  # 4xx replies, a dropped connection: worth another attempt
        error = f"{type(err).__name__}: {err}"
    except OSError as err:                 # the server unreachable, a timeout, a full disk for .eml files
        error = f"{type(err).__name__}: {err}"
    except Exception as err:  # a defect or a message that cannot be built: the same again next time
        log.exception("outbox: message %s could not be sent", message.id)
        permanent, error = True, f"{type(err).__name__}: {err}"
    # The sender is the system's job (the scheduler's or `complaintflow deliver`): no person acts.
    # A transport a test or an embedder gives may not say its channel.
    channel = getattr(sms, "channel", "sms") if by_sms else getattr(transport, "channel", "email")
    with runtime.unit_of_work() as uow:
        if error is None:
            outbox.record_sent(uow, SYSTEM, message, uow.now(), channel=channel)
            report.sent += 1
            return
        gave_up = outbox.record_failure(uow, SYSTEM, message, error, uow.now(), permanent=permanent,
                                        channel=channel)
    error = outbox.printable(error)
    report.errors.append(f"message {message.id}: {error}")
    recipient = outbox.one_line(message.recipient)
    if gave_up:
        report.given_up += 1
        log.error("outbox: gave up message %s to %r: %s", message.id, recipient, error)
    else:
        report.failed += 1
        log.warning("outbox: message %s to %r failed, will retry: %s", message.id, recipient, error)
