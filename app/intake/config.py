"""config/mail_in.toml: which mailbox `complaintflow mail-in` and the scheduler read. Only the adapters read
it (the engine never reads mail). The IMAP password is never in the file: the file names the environment
variable that holds it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.engine.config.toml_files import read_toml

FILE_NAME = "mail_in.toml"
_KEYS = {"maildir", "mbox", "every_seconds", "imap"}
_IMAP_KEYS = {"host", "port", "username", "password_env", "folder", "done_folder", "ssl"}


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int = 993
    username: str = ""
    password_env: str = "COMPLAINTFLOW_IMAP_PASSWORD"
    folder: str = "INBOX"
    done_folder: str | None = None
    ssl: bool = True

    def password(self) -> str:
        value = os.environ.get(self.password_env)
        if not value:
            raise ValueError(f"config/{FILE_NAME} [imap]: set the password in ${self.password_env}")
        return value


@dataclass(frozen=True)
class MailInSettings:
    maildir: Path | None = None
    mbox: Path | None = None
    imap: ImapSettings | None = None
    every_seconds: int = 60

    @property
    def configured(self) -> bool:
        return self.maildir is not None or self.mbox is not None or self.imap is not None


def load(config_dir: Path) -> MailInSettings:
    """The file's settings; no file: no mailbox (the scheduler then reads none)."""
    path = Path(config_dir) / FILE_NAME
    if not path.exists():
        return MailInSettings()
    data = read_toml(path)  # a file that does not parse is refused with its path named, as every config file
    where = f"config/{FILE_NAME}"
    section = data.get("mail_in", {})
    if set(data) - {"mail_in"} or not isinstance(section, dict):
        raise ValueError(f"{where}: put the settings under [mail_in]")
    unknown = set(section) - _KEYS
    if unknown:
        raise ValueError(f"{where} [mail_in]: unknown key(s) {', '.join(sorted(unknown))}")
    every = section.get("every_seconds", 60)
    if not isinstance(every, int) or isinstance(every, bool) or every < 5:
        raise ValueError(f"{where} [mail_in]: every_seconds must be a whole number of at least 5")
    imap = section.get("imap")
    if imap is not None:
        if not isinstance(imap, dict) or set(imap) - _IMAP_KEYS or not imap.get("host"):
            raise ValueError(f"{where} [mail_in.imap]: give host (and port, username, password_env, folder, "
                             "done_folder, ssl); never the password itself")
        imap = ImapSettings(**imap)
    return MailInSettings(maildir=_path(section.get("maildir")), mbox=_path(section.get("mbox")), imap=imap,
                          every_seconds=every)


def _path(value: object) -> Path | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"config/{FILE_NAME} [mail_in]: a mailbox path is a text")
    return Path(value).expanduser()
