"""The customer's contact is typed and validated at registration (security finding H1): exactly one e-mail address,
a phone number in E.164 or a postal address, whatever the path (all go through registration.register_complaint)."""
from __future__ import annotations

import pytest

from app.engine.complaints import contacts
from app.engine.core.errors import InvalidSubmission


@pytest.mark.parametrize(("contact", "message"), [
    ("li.wei@example.com\r\nBcc: everyone@example.com", contacts.ONE_LINE),
    ("li.wei@example.com\n", None),                      # surrounding space only: trimmed, accepted
    ("li.wei@example.com, mallory@example.com", contacts.ONLY_ONE),
    ("li.wei@example.com; mallory@example.com", contacts.ONLY_ONE),
    ("Li Wei <li.wei@example.com>", contacts.ONLY_ONE),
    ("li.wei@@example.com", contacts.ONLY_ONE),
    ("li.wei@example", contacts.BAD_EMAIL),
    ("li wei@example.com", contacts.BAD_EMAIL),
    ("12345", contacts.BAD_PHONE),
    ("Li Wei", contacts.BAD_POSTAL),
    ("88 Jianguo Road\x07Beijing", contacts.CONTROL),
])
def test_a_contact_that_is_not_exactly_one_of_the_kinds_is_refused_naming_the_field(case, contact, message):
    if message is None:
        assert case.complaint(case.register(customer_contact=contact)).customer_contact == "li.wei@example.com"
        return
    with pytest.raises(InvalidSubmission) as refused:
        case.register(customer_contact=contact)
    assert refused.value.errors == {"customer_contact": [message]}


def test_the_contact_error_comes_with_the_forms_errors(case):
    with pytest.raises(InvalidSubmission) as refused:
        case.register(customer_contact="a@example.com, b@example.com", product="   ")
    assert set(refused.value.errors) == {"customer_contact", "product"}


@pytest.mark.parametrize(("written", "stored"), [
    ("138 0013 8000", "+8613800138000"),                 # no +: the regime's country (cn_cbirc: CN)
    ("+86 138-0013-8000", "+8613800138000"),
    ("(010) 6552 9988", "+861065529988"),
    ("+44 20 7946 0000", "+442079460000"),
    ("１３８００１３８０００", "+8613800138000"),             # full-width digits, as a Chinese keyboard types them
])
def test_a_phone_number_is_stored_in_e164(case, written, stored):
    complaint = case.complaint(case.register(customer_contact=written))
    assert complaint.customer_contact == stored


def test_a_number_without_plus_takes_the_regimes_country(regime):
    uk = regime("uk_fca")
    assert uk.complaint(uk.register(customer_contact="020 7946 0000")).customer_contact == "+442079460000"


def test_an_e_mail_address_and_a_postal_address_are_stored_normalised(case):
    assert case.complaint(case.register(customer_contact=" Li.Wei@EXAMPLE.com ")).customer_contact == \
        "Li.Wei@example.com"
    postal = case.register(customer_contact="  Room 5,  88 Jianguo Road\r\n\r\nBeijing 100022  ")
    assert case.complaint(postal).customer_contact == "Room 5, 88 Jianguo Road\nBeijing 100022"
    chinese = case.register(customer_contact="北京市朝阳区建国路88号")
    assert case.complaint(chinese).customer_contact == "北京市朝阳区建国路88号"


@pytest.mark.parametrize(("stored", "kind"), [
    ("li.wei@example.com", contacts.EMAIL), ("+8613800138000", contacts.PHONE),
    ("Room 5, 88 Jianguo Road\nBeijing 100022", contacts.POSTAL),
])
def test_a_normalised_contact_reads_back_as_its_kind_and_only_an_address_is_mailed(stored, kind):
    assert contacts.parse(stored, "CN") == contacts.Contact(kind, stored)
    if kind == contacts.EMAIL:
        assert contacts.mail_recipient(stored) == stored
    else:
        with pytest.raises(contacts.NotMailable):
            contacts.mail_recipient(stored)
