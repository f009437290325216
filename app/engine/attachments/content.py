"""What a file is, decided from its bytes (libmagic), never from its name or the sender's Content-Type, and
whether it may be kept: an allowed type (config/attachments.toml [types]), not empty, not too big, and for Word
and Excel files (zip archives) no zip bomb and no macros. Each refusal says why in a person's words."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import magic

from app.engine.config.attachments import AttachmentPolicy
from app.engine.core.messages import N_, Message, Param, Words

ZIP_TYPES = frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
MAX_ZIP_ENTRIES = 5000
NAME_LENGTH = 200
# Names of the same type that need no second extension.
SYNONYMS = {"jpg": {"jpeg", "jpe"}, "tif": {"tiff"}, "txt": {"text", "log", "csv"}}


class Refused(ValueError):
    """The file may not be kept; ``message`` is the reason, for the person who sent it (in their language where
    it is shown: app/web/messages.py)."""

    def __init__(self, key: str, **params: Param):
        self.message = Message(key, **params)
        super().__init__(self.message)


@dataclass(frozen=True)
class Checked:
    media_type: str
    extension: str
    filename: str   # safe to show and to offer as a download name


def check(data: bytes, filename: str, policy: AttachmentPolicy) -> Checked:
    if not data:
        raise Refused(N_("The file is empty"))
    if len(data) > policy.max_bytes:
        raise Refused(N_("The file is larger than %(limit)s"), limit=_size(policy.max_bytes))
    media_type = magic.from_buffer(data[:65536] if len(data) > 65536 else data, mime=True)
    if media_type in ZIP_TYPES or media_type == "application/octet-stream":
        # The first 64 KiB can leave an Office file unrecognised; ask again with all of it.
        media_type = magic.from_buffer(data, mime=True)
    extension = policy.types.get(media_type)
    if extension is None:
        raise Refused(N_("Files of this type (%(kind)s) cannot be attached; send a PDF, a picture, a text, Word or "
                         "Excel file"), kind=_described(media_type))
    if media_type in ZIP_TYPES:
        _check_archive(data, policy)
    return Checked(media_type=media_type, extension=extension, filename=safe_name(filename, extension))


def safe_name(filename: str, extension: str) -> str:
    """The name as given, without any folder, control or bidi characters, at most 200 characters, ending in the
    extension of what the file really is ("statement.exe" that is a PDF downloads as "statement.exe.pdf")."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Zl", "Zp"}).strip(" .")
    name = re.sub(r"\s+", " ", name) or "attachment"
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix.lower() not in {extension, *SYNONYMS.get(extension, ())}:
        stem, suffix = name, extension
    return f"{stem[:NAME_LENGTH - len(suffix) - 1]}.{suffix}"


def _check_archive(data: bytes, policy: AttachmentPolicy) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused(N_("The file is damaged and cannot be opened")) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise Refused(N_("The file holds too many parts to be checked"))
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > policy.max_unpacked_bytes or unpacked > policy.max_ratio * len(data):
        raise Refused(N_("The file would unpack to far more than its size (a zip bomb); it was not kept"))
    if any(entry.filename.lower().endswith("vbaproject.bin") for entry in entries):
        raise Refused(N_("The file contains macros; save it without macros (as .docx or .xlsx) and send it again"))


def _described(media_type: str) -> Param:
    """What a refused type is, in words a customer knows (a name of the catalog); else the media type itself."""
    named = {"text/html": "HTML page", "image/svg+xml": "SVG image", "application/zip": "zip archive",
             "application/x-dosexec": "program", "application/vnd.microsoft.portable-executable": "program",
             "application/x-executable": "program", "application/javascript": "script",
             "text/javascript": "script"}.get(media_type)
    return Words(named, common=False) if named else media_type


# The names above, for the catalog.
_NAMES = (N_("HTML page"), N_("SVG image"), N_("zip archive"), N_("program"), N_("script"))


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:g} MB" if count >= 1024 * 1024 else f"{count / 1024:g} KB"
