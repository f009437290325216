"""Text messages to a customer whose contact is a phone number (E.164, app/engine/complaints/contacts.py).

What an SMS carries: a letter does not fit one SMS, and a complaint has exactly one contact, so no postal address
is known beside a phone number. The SMS therefore carries the whole letter: its subject (which names the tracking
number) then its body, split into numbered parts ("(1/4) ...") of at most 67 characters when the text needs UCS-2
(any Chinese character) or 153 characters in GSM-7: the sizes of one part of a concatenated SMS. Each part is one
request to the gateway, and the parts go in order. (``sms_texts(..., postal_known=True)`` gives the short form:
subject, tracking number and "the full letter follows by post", for when a contact holds a postal address too.)

Adapters:
    COMPLAINTFLOW_SMS_URL   https://gateway.example/messages   (unset: .txt files under instance/sms/)
    COMPLAINTFLOW_SMS_KEY   the gateway's API key, sent as ``Authorization: Bearer <key>``
The gateway receives ``POST`` with JSON ``{"to": "+8613800138000", "text": "..."}`` and an ``Idempotency-Key``
header (the message's key and the part number), so a part sent again after a sender crash can be dropped.
"""
from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from app.engine.config.settings import PROJECT_ROOT

GSM_PART, UCS2_PART = 153, 67
# The GSM 03.38 basic character set (without the escape table): any other character makes the text UCS-2.
GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ"
                 "§¿abcdefghijklmnopqrstuvwxyzäöñüà")


class SmsRefused(Exception):
    """The gateway refused the message for good (4xx other than 429): sending it again will not help."""


def sms_texts(subject: str, body: str, tracking_number: str | None = None, *, postal_known: bool = False) -> list[str]:
    """The texts of the SMS parts that carry this letter (see the module's docstring)."""
    subject = " ".join(subject.split())
    if postal_known:
        reference = f" ({tracking_number})" if tracking_number and tracking_number not in subject else ""
        return [f"{subject}{reference}. The full letter follows by post. / 完整信函将邮寄给您。"]
    text = subject + "\n" + "\n".join(line.rstrip() for line in body.strip().splitlines())
    size = GSM_PART if all(c in GSM7 for c in text) else UCS2_PART
    if len(text) <= size + 7:  # one SMS holds 160 GSM-7 or 70 UCS-2 characters: no part numbers needed
        return [text]
    budget = size - 8          # room for "(nn/nn) "
    chunks = [text[i:i + budget] for i in range(0, len(text), budget)]
    return [f"({n}/{len(chunks)}) {chunk}" for n, chunk in enumerate(chunks, start=1)]


class SmsFileSink:
    """Development: each message becomes one .txt file under instance/sms/ (its parts one after another), named
    after its idempotency key so a repeated delivery overwrites instead of duplicating."""

    channel = "sms_file"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, to: str, parts: list[str], key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.txt"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(f"To: {to}\n\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
        temporary.replace(path)

    def __str__(self) -> str:
        return f"SMS files in {self.directory}"


class HttpSmsGateway:
    """An HTTP SMS gateway: one JSON POST per part, the key as a bearer token. A 4xx reply (but 429) is a
    refusal for good (SmsRefused); 5xx, 429 and network errors are OSError, retried by the sender."""

    channel = "sms"

    def __init__(self, url: str, key: str, *, timeout: float = 30):
        if not url.startswith(("https://", "http://")):
            raise ValueError("COMPLAINTFLOW_SMS_URL must be an http(s) URL")
        self.url, self.key, self.timeout = url, key, timeout

    def send(self, to: str, parts: list[str], key: str) -> None:
        for number, text in enumerate(parts, start=1):
            request = urllib.request.Request(
                self.url, method="POST", data=json.dumps({"to": to, "text": text}).encode("utf-8"),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}",
                         "Idempotency-Key": f"{key}:{number}"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # http(s) only (checked above)
                    response.read()
            except urllib.error.HTTPError as err:
                if 400 <= err.code < 500 and err.code != 429:
                    raise SmsRefused(f"the SMS gateway refused the message: HTTP {err.code} {err.reason}") from err
                raise

    def __str__(self) -> str:
        return f"SMS gateway {self.url}"


def sms_from_environment() -> SmsFileSink | HttpSmsGateway:
    url = os.environ.get("COMPLAINTFLOW_SMS_URL")
    if not url:
        return SmsFileSink(PROJECT_ROOT / "instance" / "sms")
    key = os.environ.get("COMPLAINTFLOW_SMS_KEY")
    if not key:
        raise ValueError("COMPLAINTFLOW_SMS_URL is set: COMPLAINTFLOW_SMS_KEY must be set too")
    return HttpSmsGateway(url, key)
