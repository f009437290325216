"""An e-mail's bytes as the engine reads them (app/engine/intake/messages.py): the stdlib ``email`` package with
``policy.default``, every text decoded by its declared charset, except that GB2312 and GBK (which Chinese mail
clients label text that is really GBK or GB18030) are read as GB18030, their superset; HTML turned into text by
the standard library's parser (nothing in it is run or fetched); the files kept, a bounce's original
Message-ID found."""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from app.engine.intake.messages import InboundMail, MailFile

# Labels whose text is decoded as GB18030 (a superset of each: a GBK character in a "gb2312" part survives).
GB_LABELS = frozenset({"gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "csgb2312", "gb_2312-80", "ms936", "936",
                       "x-euc-cn", "hz-gb-2312"})
AUTOMATIC_HEADERS = ("auto-submitted", "x-autoreply", "x-autorespond", "x-autoresponse", "precedence", "list-id",
                     "return-path")
MESSAGE_IDS = re.compile(r"<[^<>\s]{1,250}>")
TEXT_LIMIT = 100_000


def charset_of(label: str | None) -> str:
    name = (label or "utf-8").strip().strip('"').lower()   # undeclared: ASCII, read leniently
    return "gb18030" if name in GB_LABELS else name


def decode_bytes(data: bytes, label: str | None) -> str:
    try:
        return data.decode(charset_of(label), errors="replace")
    except LookupError:   # a charset Python does not know: most such mail is UTF-8 in practice
        return data.decode("utf-8", errors="replace")


def decode_words(value: str) -> str:
    """A header's raw value with its RFC 2047 encoded words decoded (GB labels as GB18030)."""
    unfolded = re.sub(r"\r?\n[ \t]+", " ", value)
    decoded = "".join(decode_bytes(chunk, label) if isinstance(chunk, bytes) else chunk
                      for chunk, label in decode_header(unfolded))
    return decoded.replace("\x00", "")   # a NUL byte no database text column takes


def _unescaped(value: str) -> str:
    """A header some mail clients send as raw 8-bit text (no encoded words): the parser keeps its bytes as
    surrogate escapes; they are UTF-8, else (Chinese clients) GB18030."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        data = value.encode("utf-8", errors="surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def parse(raw: bytes) -> InboundMail:
    message = message_from_bytes(raw, policy=policy.default)
    headers = {name.lower(): value for name, value in message.raw_items()}

    def header(name: str) -> str:
        value = headers.get(name)
        return decode_words(_unescaped(str(value))).strip() if value is not None else ""

    sender_name, sender = _sender(header("from"))
    text, files = _body(message)
    text = text.replace("\x00", "")
    return InboundMail(
        digest=hashlib.sha256(raw).hexdigest(), sender=sender, sender_name=sender_name,
        subject=" ".join(header("subject").split()), text=text[:TEXT_LIMIT],
        message_id=_ids(header("message-id"))[0] if _ids(header("message-id")) else None,
        in_reply_to=_ids(header("in-reply-to")), references=_ids(header("references")),
        sent_at=_date(header("date")),
        headers={name: header(name) for name in AUTOMATIC_HEADERS if name in headers},
        content_type=message.get_content_type(), report_type=_param(message, "report-type"),
        bounced_ids=_bounced(message), files=tuple(files))


def _sender(value: str) -> tuple[str, str]:
    found = getaddresses([value])
    name, address = found[0] if found else ("", "")
    return name.strip(), address.strip()


def _ids(value: str) -> tuple[str, ...]:
    return tuple(MESSAGE_IDS.findall(value))


def _date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _param(message: Message, name: str) -> str | None:
    value = message.get_param(name)
    return value if isinstance(value, str) else None


def _body(message: EmailMessage) -> tuple[str, list[MailFile]]:
    """The text a person wrote (the plain part, else the HTML one as text) and the files."""
    plain: list[str] = []
    html: list[str] = []
    files: list[MailFile] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if message.get_content_type() == "multipart/report" and kind in ("message/delivery-status",
                                                                          "text/rfc822-headers"):
            continue
        if disposition == "attachment" or (filename and kind not in ("text/plain", "text/html")):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                files.append(MailFile(decode_words(filename) if filename else "attachment", data))
            continue
        if kind in ("text/plain", "text/html"):
            data = part.get_payload(decode=True)
            text = decode_bytes(data, part.get_content_charset()) if isinstance(data, bytes) else ""
            (plain if kind == "text/plain" else html).append(text)
    text = "\n\n".join(t.strip() for t in plain if t.strip()) or "\n\n".join(html_text(t) for t in html)
    return text.replace("\r\n", "\n").strip(), files


def _bounced(message: EmailMessage) -> tuple[str, ...]:
    """The Message-ID of the message a delivery status notification returns (its headers or the whole of it)."""
    if message.get_content_type() != "multipart/report":
        return ()
    found: list[str] = []
    original: Message | str | None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            original = message_from_bytes(data, policy=policy.default) if isinstance(data, bytes) else None
        elif kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
        else:
            continue
        if isinstance(original, Message) and original.get("Message-ID"):
            found.extend(_ids(str(original.get("Message-ID"))))
    return tuple(found)


class _TextOfHtml(HTMLParser):
    """Text of an HTML body: tags dropped, script and style skipped, blocks on lines of their own."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"})
    SKIPPED = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
