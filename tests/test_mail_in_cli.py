"""`complaintflow mail-in`: a Maildir or an mbox taken in once, whatever number of runs; the command is thin (the
engine decides, app/engine/intake)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.engine.models import InboundMessage
from app.intake import config, read_mailbox
from app.intake.mailboxes import ImapBox
from app.scheduler import read_mail

MAIL = Path(__file__).resolve().parent / "fixtures" / "mail"


def _maildir(tmp_path: Path, *names: str) -> Path:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    for n, name in enumerate(names):
        (box / "new" / f"17651700{n:02d}.M1P1.mx").write_bytes((MAIL / name).read_bytes())
    return box


def test_mail_in_reads_a_maildir_once_and_moves_what_it_took_to_cur(demo_cli, runtime, tmp_path):
    box = _maildir(tmp_path, "new_complaint.eml", "gb2312.eml", "html_only.eml")
    result = demo_cli("mail-in", "--maildir", box)
    assert result.output.strip() == "mail-in: 3 read: 3 intake"
    assert list((box / "new").iterdir()) == [] and len(list((box / "cur").iterdir())) == 3
    assert demo_cli("mail-in", "--maildir", box).output.strip() == "mail-in: 0 read: nothing new"
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(InboundMessage)) == 3


def test_mail_in_reads_an_mbox_and_a_second_run_finds_only_duplicates(demo_cli, tmp_path):
    path = tmp_path / "complaints.mbox"
    path.write_bytes(b"".join(b"From sender@example.com Tue Dec  8 10:00:00 2026\n"
                              + (MAIL / name).read_bytes().replace(b"\r\n", b"\n") + b"\n"
                              for name in ("new_complaint.eml", "html_only.eml")))
    assert demo_cli("mail-in", "--mbox", path).output.strip() == "mail-in: 2 read: 2 intake"
    assert demo_cli("mail-in", "--mbox", path).output.strip() == "mail-in: 2 read: 2 duplicate"


def test_mail_in_without_a_mailbox_says_how_to_give_one(demo_cli):
    result = demo_cli("mail-in", exit_code=1)
    assert "give --maildir or --mbox" in result.output


class FakeImap:
    """What ImapBox asks of imapclient's IMAPClient (there is no IMAP server here)."""

    def __init__(self, messages: dict[int, bytes]):
        self.messages, self.flags, self.moved, self.selected, self.logged_out = messages, {}, [], None, False

    def select_folder(self, folder):
        self.selected = folder

    def search(self, criteria):
        assert criteria == ["UNSEEN", "NOT", "DELETED"]
        return [uid for uid in self.messages if b"\\Seen" not in self.flags.get(uid, ())]

    def fetch(self, uids, parts):
        assert parts == ["BODY.PEEK[]"]   # reading must not set \Seen: only a message taken in is marked
        return {uid: {b"BODY[]": self.messages[uid], b"SEQ": uid} for uid in uids}

    def add_flags(self, uids, flags):
        for uid in uids:
            self.flags.setdefault(uid, set()).update(flags)

    def move(self, uids, folder):
        self.moved += [(uid, folder) for uid in uids]

    def logout(self):
        self.logged_out = True


def test_an_imap_mailbox_is_read_without_marking_and_each_message_taken_in_is_flagged_and_moved(demo):
    client = FakeImap({7: (MAIL / "new_complaint.eml").read_bytes(), 9: (MAIL / "html_only.eml").read_bytes()})
    box = ImapBox(client, "Complaints", done_folder="Processed")
    report = read_mailbox(demo, box)
    box.close()
    assert (client.selected, report.outcomes) == ("Complaints", {"intake": 2})
    assert client.flags == {7: {b"\\Seen"}, 9: {b"\\Seen"}} and client.moved == [(7, "Processed"), (9, "Processed")]
    assert client.logged_out
    assert read_mailbox(demo, ImapBox(client)).read == 0   # nothing unseen is left


def test_the_mail_in_file_names_the_password_variable_and_never_holds_the_password(tmp_path, monkeypatch):
    assert not config.load(tmp_path).configured   # no file: no mailbox
    (tmp_path / "mail_in.toml").write_text('[mail_in]\n[mail_in.imap]\nhost = "imap.bank.example"\n'
                                           'username = "complaints"\npassword = "secret"\n')
    with pytest.raises(ValueError, match="never the password itself"):
        config.load(tmp_path)
    (tmp_path / "mail_in.toml").write_text('[mail_in]\nevery_seconds = 30\n[mail_in.imap]\n'
                                           'host = "imap.bank.example"\nusername = "complaints"\n'
                                           'password_env = "MAIL_IN_TEST_PASSWORD"\n')
    settings = config.load(tmp_path)
    assert settings.configured and settings.every_seconds == 30 and settings.imap is not None
    monkeypatch.delenv("MAIL_IN_TEST_PASSWORD", raising=False)
    with pytest.raises(ValueError, match=r"\$MAIL_IN_TEST_PASSWORD"):
        settings.imap.password()
    monkeypatch.setenv("MAIL_IN_TEST_PASSWORD", "from-the-environment")
    assert settings.imap.password() == "from-the-environment"


def test_the_scheduler_reads_the_configured_maildir(demo, tmp_path):
    box = _maildir(tmp_path, "new_complaint.eml")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "mail_in.toml").write_text(f'[mail_in]\nmaildir = "{box}"\n')
    demo.settings = dataclasses.replace(demo.settings, config_dir=config_dir)
    said: list[str] = []
    read_mail(demo, said.append)
    assert said == ["mail-in: 1 read: 1 intake"]


def test_the_scheduler_reads_mail_only_when_a_mailbox_is_configured(demo, tmp_path, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    from app.scheduler import run_forever

    jobs: dict = {}
    monkeypatch.setattr(BlockingScheduler, "start", lambda self: jobs.update({j.id: j for j in self.get_jobs()}))
    run_forever(demo, 30, echo=lambda text: None)
    assert "mail-in" not in jobs   # the shipped config/mail_in.toml names no mailbox
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "mail_in.toml").write_text(f'[mail_in]\nevery_seconds = 20\nmaildir = "{_maildir(tmp_path)}"\n')
    demo.settings = dataclasses.replace(demo.settings, config_dir=config_dir)
    run_forever(demo, 30, echo=lambda text: None)
    assert str(jobs["mail-in"].trigger) == "interval[0:00:20]"
