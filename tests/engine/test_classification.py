"""The coded classification (config/classification.toml): loaded and checked with the settings, offered by the
forms, checked at registration, and the products' payment_services flag choosing the DISP decision track."""
from __future__ import annotations

import copy
import json
import shutil
import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import text, update

from app.engine.complaints import classification
from app.engine.config.classification import ClassificationError, classification_from
from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_settings
from app.engine.core.db import Database
from app.engine.core.errors import InvalidSubmission
from app.engine.models import Complaint
from app.engine.models.schema import alembic_config

SHIPPED = tomllib.loads((DEFAULT_CONFIG_DIR / "classification.toml").read_text(encoding="utf-8"))
LONDON = ZoneInfo("Europe/London")
RECEIVED = datetime(2027, 5, 20, 10, 0, tzinfo=UTC)    # Thursday 11:00 in London; 31 May is a bank holiday


def shipped() -> dict:
    return copy.deepcopy(SHIPPED)


# --- loading and checking -----------------------------------------------------------------------------------

def test_the_shipped_classification_loads_with_the_settings():
    settings = load_settings()
    found = settings.classification
    today = date(2026, 12, 7)
    assert {"fees_charges", "fund_security", "service_quality", "product", "mis_selling", "debt_collection",
            "personal_information", "other"} <= {e.code for e in found.entries("causes", today)}
    assert [e.code for e in found.entries("outcomes", today)] == ["upheld", "partly_upheld", "rejected", "withdrawn"]
    debit = classification.product(found, "debit_card", today)
    assert (debit.en, debit.zh, debit.mappings["jrt0169_b"], debit.mappings["fca_product"]) == (
        "Debit card", "借记卡", "借记卡", "Current accounts")
    assert classification.is_payment_services(found, "current_account_personal")
    assert not classification.is_payment_services(found, "credit_card")
    assert ("branch_counter", "营业网点柜面") in classification.choices(found, "places", "zh_CN", today)
    # The UK profile's tracks follow the flag: every flagged product, none other.
    uk = load_settings(sla_profile="uk_fca").sla_profile
    assert set(uk.product_tracks) == found.payment_services_products()
    assert found.legacy_product("  Platinum DEBIT card ") == "debit_card"


def test_a_duplicate_code_is_refused_naming_it():
    data = shipped()
    data["versions"][0]["products"].append(dict(data["versions"][0]["products"][0]))
    with pytest.raises(ClassificationError, match="product code 'current_account_personal' is listed twice"):
        classification_from(data)


def test_a_code_reused_with_another_meaning_in_a_later_version_is_refused():
    data = shipped()
    later = copy.deepcopy(data["versions"][0])
    later["effective_from"] = "2027-01-01"
    [card] = [p for p in later["products"] if p["code"] == "credit_card"]
    card["en"] = "Charge card"
    data["versions"].append(later)
    with pytest.raises(ClassificationError, match="version 2027-01-01: product code 'credit_card' is reused with "
                                                  "another meaning"):
        classification_from(data)
    card["en"], card["payment_services"] = "Credit card", True       # the same name, another flag: refused too
    with pytest.raises(ClassificationError, match="'credit_card' is reused"):
        classification_from(data)


def test_an_unknown_mapping_is_refused_naming_the_code_and_the_taxonomy():
    data = shipped()
    data["versions"][0]["causes"][0]["fca_cause"] = "Rudeness"
    with pytest.raises(ClassificationError, match="cause 'service_quality': fca_cause 'Rudeness' is not a label"):
        classification_from(data)
    data = shipped()
    data["legacy_products"]["gold card"] = "gold_card"
    with pytest.raises(ClassificationError, match="'gold card' maps to unknown product code 'gold_card'"):
        classification_from(data)


def test_the_version_in_force_on_the_day_applies():
    data = shipped()
    later = copy.deepcopy(data["versions"][0])
    later["effective_from"] = "2027-01-01"
    later["products"] = [p for p in later["products"] if p["code"] != "precious_metals"]   # retired
    data["versions"].append(later)
    found = classification_from(data)
    assert classification.product(found, "precious_metals", date(2026, 12, 31)).en == "Precious metals"
    with pytest.raises(LookupError, match="'precious_metals' is not a product code .* in force on 2027-01-01"):
        classification.product(found, "precious_metals", date(2027, 1, 1))
    with pytest.raises(ClassificationError, match="no classification in force on 2019-01-01"):
        found.in_force(date(2019, 1, 1))


def test_urgency_names_cause_codes(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    sla = config / "sla.toml"
    sla.write_text(sla.read_text(encoding="utf-8").replace('categories = ["fund_security"]',
                                                           'categories = ["fraud"]'), encoding="utf-8")
    with pytest.raises(ValueError, match="'fraud', not a cause code"):
        load_settings(config)


# --- registration and deadlines -----------------------------------------------------------------------------

def test_registration_stores_the_codes_and_the_name(case):
    cid = case.register(product="debit_card", place_of_business="self_service")
    complaint = case.complaint(cid)
    assert (complaint.product_code, complaint.product, complaint.place_code) == ("debit_card", "Debit card",
                                                                                "self_service")
    other = case.complaint(case.register(1, channel="email"))   # no place named, none by default for e-mail
    assert other.place_code is None and other.category == "product"    # the cause code, as registered
    by_phone = case.complaint(case.register(7, channel="phone_hotline"))
    assert by_phone.place_code == "phone_banking"            # [channel_places]


def test_registration_refuses_an_unknown_code_naming_the_field(case):
    with pytest.raises(InvalidSubmission) as refused:
        case.register(product="Platinum debit card", category="rudeness")
    assert set(refused.value.errors) == {"product", "category"}


def decision_due(case, cid) -> datetime:
    [timer] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue" and t.state == "waiting"]
    return timer.due_at


@pytest.mark.both_caches
def test_a_payment_services_product_gets_15_business_days_whatever_its_name(regime, clock):
    clock.set(RECEIVED)
    uk = regime("uk_fca")
    payments = uk.register(product="current_account_personal", category="fees_charges")
    uk.classify(payments, product="current_account_personal")
    uk.triage(payments)
    cards = uk.register(2, product="credit_card", category="fees_charges")
    uk.classify(cards, product="credit_card")
    uk.triage(cards)
    # 15 business days after Thursday 20 May 2027 (31 May skipped), at close of business; 8 weeks otherwise.
    assert decision_due(uk, payments) == datetime(2027, 6, 11, 17, 0, tzinfo=LONDON).astimezone(UTC)
    assert decision_due(uk, cards) == RECEIVED + timedelta(days=56)
    timers = [t for t in uk.timers(payments) if t.element_id == "handling_deadline_overdue"]
    assert timers[0].sla == "payment_services_decision"


def test_classifying_to_a_payment_services_product_moves_the_case_to_its_track(regime, clock):
    clock.set(RECEIVED)
    uk = regime("uk_fca")
    cid = uk.register(product="credit_card", category="fees_charges")
    uk.classify(cid, product="mobile_payment", place_of_business="mobile_banking")
    uk.triage(cid)
    complaint = uk.complaint(cid)
    assert (complaint.product_code, complaint.place_code) == ("mobile_payment", "mobile_banking")
    assert decision_due(uk, cid) == datetime(2027, 6, 11, 17, 0, tzinfo=LONDON).astimezone(UTC)


# --- the mapping report -------------------------------------------------------------------------------------

def test_map_report_counts_codes_and_lists_unmapped_texts(case, cli):
    _first, second, third = (case.register(n) for n in (1, 2, 3))
    with case.runtime.unit_of_work() as uow:   # as migration 0016 leaves complaints whose text it did not know
        uow.session.execute(update(Complaint).where(Complaint.id.in_([second, third]))
                            .values(product_code=None, product="Gold card"))
    with case.runtime.unit_of_work() as uow:
        report = classification.map_report(uow)
    assert report.mapped == [("credit_card", "Credit card", 1)] and report.unmapped == [("Gold card", 2)]
    output = cli("classification", "map-report").output
    assert "1 complaints mapped to a product code, 2 unmapped" in output
    assert "credit_card" in output and "'Gold card'" in output


# --- forms --------------------------------------------------------------------------------------------------

def test_the_forms_offer_the_codes_with_both_names(demo):
    schema = demo.forms.schema_for_client("register_complaint.schema.json")
    products = schema["properties"]["product"]["oneOf"]
    assert {"const": "debit_card", "title": "Debit card", "x-i18n": {"zh": {"title": "借记卡"}}} in products
    assert [o["const"] for o in schema["properties"]["category"]["oneOf"]][:3] == [
        "service_quality", "product", "fees_charges"]
    classify = demo.forms.schema_for_client("classify_complaint.schema.json")
    assert json.dumps(classify["properties"]["place_of_business"]["oneOf"], ensure_ascii=False).count("const") == 8


# --- migration 0016 ------------------------------------------------------------------------------------------

def test_migration_0016_maps_the_known_texts_and_leaves_the_others(tmp_path):
    """On a database of its own (SQLite file): rows written at 0015, then the upgrade's data step."""
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(database.url)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0015")
            for n, (product, channel) in enumerate((("Current account", "branch_counter"),
                                                    (" platinum DEBIT card", "email"), ("Gold card", "mobile_app"))):
                connection.execute(text(
                    "INSERT INTO complaints (tracking_number, customer_name, customer_contact, channel, product, "
                    "category, severity, urgent, description, status, is_overdue, breached_slas, escalation_level, "
                    "reopen_count, received_at, registered_by) VALUES (:t, 'A', 'a@example.com', :c, :p, "
                    "'fees_charges', 'general', false, 'Charged twice', 'registered', false, '[]', 0, 0, "
                    "'2026-01-05 10:00:00', 'intake')"), {"t": f"CF-{n}", "c": channel, "p": product})
            command.upgrade(config, "0016")
            rows = connection.execute(text("SELECT product, product_code, place_code FROM complaints "
                                           "ORDER BY tracking_number")).all()
    finally:
        database.engine.dispose()
    assert [tuple(r) for r in rows] == [("Current account", "current_account_personal", "branch_counter"),
                                        (" platinum DEBIT card", "debit_card", None),
                                        ("Gold card", None, "mobile_banking")]
