"""Where mail is read from: a Maildir, an mbox file, or an IMAP mailbox. Each yields (key, raw bytes) and is told
when a message's effect has committed (``done``). Whether a message was taken in is decided by the database
(inbound_messages), never by the mailbox: two readers of one mailbox, or a mailbox read again, take each message
in once. Marking a message read (Maildir: moved from new/ to cur/; IMAP: \\Seen) only keeps the next reading
short."""
from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class Mailbox(Protocol):
    source: str

    def messages(self) -> Iterator[tuple[str, bytes]]: ...

    def done(self, key: str) -> None: ...

    def close(self) -> None: ...


class MaildirBox:
    """Messages in new/ (delivered, not yet read); a message taken in moves to cur/ with the Seen flag."""

    source = "maildir"

    def __init__(self, path: Path):
        self.path = Path(path)
        if not (self.path / "new").is_dir() or not (self.path / "cur").is_dir():
            raise FileNotFoundError(f"{self.path} is not a Maildir (it needs new/ and cur/)")

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for entry in sorted(os.scandir(self.path / "new"), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            try:
                data = Path(entry.path).read_bytes()
            except FileNotFoundError:   # another reader moved it to cur/ meanwhile
                continue
            yield entry.name, data

    def done(self, key: str) -> None:
        name = key.split(":2,")[0]
        try:
            os.replace(self.path / "new" / key, self.path / "cur" / f"{name}:2,S")
        except FileNotFoundError:       # moved by another reader: it is taken in all the same
            pass

    def close(self) -> None:
        pass


class MboxBox:
    """An mbox file, read as it is: it is never rewritten (a message taken in is known by the database)."""

    source = "mbox"

    def __init__(self, path: Path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} is not an mbox file")
        self.box = mailbox.mbox(str(path), create=False)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in self.box.iterkeys():
            yield str(key), self.box.get_bytes(key)

    def done(self, key: str) -> None:
        pass

    def close(self) -> None:
        self.box.close()


class ImapBox:
    """An IMAP folder through imapclient (``pip install complaintflow[imap]``): the messages not yet seen,
    fetched without setting \\Seen (BODY.PEEK[]); a message taken in is flagged \\Seen, and moved to
    ``done_folder`` if one is configured."""

    source = "imap"

    def __init__(self, client: Any, folder: str = "INBOX", done_folder: str | None = None, batch: int = 50):
        self.client, self.folder, self.done_folder, self.batch = client, folder, done_folder, batch
        self.client.select_folder(folder)

    @classmethod
    def connect(cls, host: str, port: int, username: str, password: str, *, folder: str = "INBOX",
                done_folder: str | None = None, ssl: bool = True, timeout: float = 60.0) -> ImapBox:
        from imapclient import IMAPClient  # noqa: PLC0415 - optional: only an IMAP mailbox needs it

        client = IMAPClient(host, port=port, ssl=ssl, timeout=timeout)
        client.login(username, password)
        return cls(client, folder, done_folder)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        uids = sorted(self.client.search(["UNSEEN", "NOT", "DELETED"]))
        for start in range(0, len(uids), self.batch):
            chunk = uids[start:start + self.batch]
            fetched = self.client.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                data = fetched.get(uid, {}).get(b"BODY[]")
                if isinstance(data, bytes):
                    yield str(uid), data

    def done(self, key: str) -> None:
        uid = int(key)
        self.client.add_flags([uid], [b"\\Seen"])
        if self.done_folder:
            self.client.move([uid], self.done_folder)

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:
            pass
