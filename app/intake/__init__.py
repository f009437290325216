"""E-mail intake, the adapter: read a mailbox, decode each message (parsing.py) and hand it to the engine
(app/engine/intake) in a unit of work of its own, then tell the mailbox it is done. One message failing never
stops the rest; a message another reader took in first is counted and left."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.core.actors import SYSTEM
from app.engine.intake.mail import AlreadyTaken, take_in
from app.intake import config
from app.intake.mailboxes import ImapBox, Mailbox, MaildirBox, MboxBox
from app.intake.parsing import parse

log = logging.getLogger(__name__)


@dataclass
class MailInReport:
    read: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def summary(self) -> str:
        counted = ", ".join(f"{n} {name}" for name, n in sorted(self.outcomes.items())) or "nothing new"
        failed = f"; {len(self.errors)} failed" if self.errors else ""
        return f"mail-in: {self.read} read: {counted}{failed}"


def read_mailbox(runtime, box: Mailbox) -> MailInReport:
    report = MailInReport()
    for key, raw in box.messages():
        report.read += 1
        try:
            mail = parse(raw)
            with runtime.unit_of_work() as uow:
                taken = take_in(uow, SYSTEM, mail, box.source)
            outcome = taken.outcome
        except AlreadyTaken:
            outcome = "duplicate"   # another reader's, committed first
        except Exception as err:
            log.exception("mail-in: message %s could not be taken in", key)
            report.errors.append(f"{key}: {type(err).__name__}: {err}")
            continue
        report.count(outcome)
        box.done(key)
    return report


def mailbox_for(*, maildir: Path | None = None, mbox: Path | None = None,
                settings: config.MailInSettings | None = None) -> Mailbox:
    """The mailbox given (a Maildir or mbox path), else the one config/mail_in.toml configures."""
    if maildir is not None:
        return MaildirBox(maildir)
    if mbox is not None:
        return MboxBox(mbox)
    if settings is None or not settings.configured:
        raise ValueError("No mailbox: give --maildir or --mbox, or configure one in config/mail_in.toml")
    if settings.maildir is not None:
        return MaildirBox(settings.maildir)
    if settings.mbox is not None:
        return MboxBox(settings.mbox)
    imap = settings.imap
    assert imap is not None
    return ImapBox.connect(imap.host, imap.port, imap.username, imap.password(), folder=imap.folder,
                           done_folder=imap.done_folder, ssl=imap.ssl)


def run_configured(runtime, settings: config.MailInSettings | None = None) -> MailInReport | None:
    """Read the configured mailbox once (the scheduler's job, ``settings`` as it read config/mail_in.toml at its
    start); None when no mailbox is configured."""
    settings = settings if settings is not None else config.load(runtime.settings.config_dir)
    if not settings.configured:
        return None
    box = mailbox_for(settings=settings)
    try:
        return read_mailbox(runtime, box)
    finally:
        box.close()
