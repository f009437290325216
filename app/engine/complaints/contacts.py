"""The customer's contact: exactly one e-mail address, one phone number (E.164) or one postal address.

The kind is read from the value itself, with no field of its own and no column: an ``@`` makes it an e-mail
address; only digits and the signs of a written number (``+ - ( ) . /`` and spaces) make it a phone number;
anything else is a postal address. Each kind is then validated strictly, so a mistyped e-mail address or number
is refused rather than taken for a postal address, and the stored value is normalised: the e-mail address as the
validator spells it, the number in E.164 (the regime's calendar country is the region of a number written without
``+``), the postal address's lines trimmed and joined by ``\\n``. Normalised values read back as the same kind.

Only an e-mail address is ever a mail recipient. The sender (app/delivery.py) asks ``mail_recipient`` again for
every message: rows written before contacts were validated may hold anything.

The messages are English sentences that the pages translate (``N_`` marks them for the catalog).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

EMAIL, PHONE, POSTAL = "email", "phone", "postal"
PHONE_SIGNS = frozenset("+＋-()./ \u00a0")
POSTAL_MIN_CHARACTERS = 6
POSTAL_MAX_LINES = 8


def N_(message: str) -> str:
    """Marks a message for the catalog (pybabel's default keyword); it is translated where it is shown."""
    return message


ONE_LINE = N_("An e-mail address or a phone number must be on one line.")
ONLY_ONE = N_("Give only one e-mail address, without a name or a second address.")
BAD_EMAIL = N_("This is not a valid e-mail address. Write it like name@example.com.")
BAD_PHONE = N_("This is not a valid phone number. Write it with its country code, like +86 138 0013 8000.")
BAD_POSTAL = N_("Give a full postal address, an e-mail address or a phone number.")
CONTROL = N_("The contact contains an invisible control character; remove it.")


class InvalidContact(ValueError):
    """The contact is none of the three kinds; ``message`` says what to change, for a person."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(f"{message} ({detail})" if detail else message)
        self.message = message
        self.detail = detail


class NotMailable(ValueError):
    """A stored contact that is not one valid e-mail address: a letter to it goes another way, never by mail."""


@dataclass(frozen=True)
class Contact:
    kind: str       # email | phone | postal
    value: str      # normalised, as stored in complaints.customer_contact and used as the letters' recipient


def kind_of(text: str) -> str:
    """The kind a contact is read as (it may still be invalid for that kind)."""
    if "@" in text:
        return EMAIL
    if any(c.isdigit() for c in text) and all(c.isdigit() or c in PHONE_SIGNS for c in text):
        return PHONE
    return POSTAL


def parse(text: str, default_region: str | None) -> Contact:
    """The contact typed and normalised; InvalidContact says why not. ``default_region``: ISO country code for a
    phone number written without ``+`` (None: such a number is refused)."""
    text = text.strip()
    kind = kind_of(text)
    if kind == EMAIL:
        return Contact(EMAIL, _email(text, strict=True))
    if kind == PHONE:
        return Contact(PHONE, _phone(text, default_region))
    return Contact(POSTAL, _postal(text))


def mail_recipient(stored: str) -> str:
    """The one address a letter to this stored contact may be mailed to (an addr-spec, no name, no line break),
    or NotMailable with what to do instead. Lenient only on the domain (a staff mailbox on a local domain)."""
    kind = kind_of(stored)
    if kind == PHONE:
        raise NotMailable("the contact is a phone number, not an e-mail address: telephone the customer or send "
                          "the letter by post, and record it")
    if kind == POSTAL:
        raise NotMailable("the contact is a postal address, not an e-mail address: print the letter and send it "
                          "by post, and record it")
    try:
        return _email(stored, strict=False)
    except InvalidContact as err:
        raise NotMailable(f"the contact is not one valid e-mail address ({err.detail or err.message}); "
                          "correct the customer's contact, then send the message again") from err


def _email(text: str, *, strict: bool) -> str:
    if "\r" in text or "\n" in text or any(_is_line_break(c) for c in text):
        raise InvalidContact(ONE_LINE, "a line break")
    if "," in text or ";" in text or text.count("@") > 1 or "<" in text:
        raise InvalidContact(ONLY_ONE, "several addresses or a display name")
    try:
        # Syntax only (no DNS: registration must not depend on the network); no display name, quoted local
        # part or domain literal. ``strict`` also refuses special-use domains (.local, .test) for customers.
        found = validate_email(text, check_deliverability=False, allow_display_name=False,
                               allow_quoted_local=False, allow_domain_literal=False, globally_deliverable=strict)
    except EmailNotValidError as err:
        raise InvalidContact(BAD_EMAIL, str(err)) from err
    return found.normalized


def _phone(text: str, default_region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as err:
        raise InvalidContact(BAD_PHONE, str(err)) from err
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(BAD_PHONE, "no such number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _postal(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if any(_is_control(c) for line in lines for c in line):
        raise InvalidContact(CONTROL, "a control character")
    joined = "\n".join(lines)
    letters = sum(1 for c in joined if not c.isspace())
    if letters < POSTAL_MIN_CHARACTERS or not any(c.isalpha() for c in joined) or len(lines) > POSTAL_MAX_LINES:
        raise InvalidContact(BAD_POSTAL, "not an address")
    return joined


def _is_line_break(c: str) -> bool:
    return c in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def _is_control(c: str) -> bool:
    # Cc (controls) and Cf (format: zero-width, bidirectional overrides) have no place in an address.
    return unicodedata.category(c) in ("Cc", "Cf")
