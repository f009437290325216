"""The one naming rule of pages and API (app/engine/config/classification.py names_for, re-exported by
app/engine/complaints/classification.py): a complaint's product, cause, place and outcome codes by their names in
the reader's language, from the classification version in force on the day the complaint was received (in the
regime's time zone); a code retired later keeps its name, a value that is no code is not renamed."""
from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from app.engine.complaints import classification
from app.engine.config.classification import classification_from

SHANGHAI = "Asia/Shanghai"


def entry(code: str, en: str, zh: str, **extra) -> dict:
    return {"code": code, "en": en, "zh": zh, **extra}


def version(effective: str, products: list[dict]) -> dict:
    return {"effective_from": effective, "products": products,
            "causes": [entry("fees_charges", "Fees and charges", "收费问题")],
            "places": [entry("mobile_banking", "Mobile banking app", "手机银行")],
            "outcomes": [entry("upheld", "Upheld", "支持")]}


TABLE = classification_from({"versions": [
    version("2020-01-01", [entry("debit_card", "Debit card", "借记卡", payment_services=True),
                           entry("gold_card", "Gold card", "金卡", payment_services=False)]),
    # 2025: the Chinese name is reworded, the gold card is retired.
    version("2025-01-01", [entry("debit_card", "Debit card", "银行借记卡", payment_services=True)]),
]})


def complaint(received_at, **codes) -> SimpleNamespace:
    values = {"product_code": "debit_card", "product": "Debit card", "category": "fees_charges",
              "place_code": "mobile_banking", "outcome": None, "received_at": received_at}
    return SimpleNamespace(**{**values, **codes})


def test_the_names_are_those_of_the_version_in_force_on_the_day_of_receipt():
    old = complaint(datetime(2024, 12, 31, 12, 0, tzinfo=UTC))
    new = complaint(datetime(2025, 1, 2, 12, 0, tzinfo=UTC))
    assert classification.names_for(TABLE, SHANGHAI, old, "zh_CN")["product_name"] == "借记卡"
    assert classification.names_for(TABLE, SHANGHAI, new, "zh_CN")["product_name"] == "银行借记卡"
    assert classification.names_for(TABLE, SHANGHAI, new, "en") == {
        "product_name": "Debit card", "cause_name": "Fees and charges", "place_name": "Mobile banking app",
        "outcome_name": None}


def test_the_day_of_receipt_is_the_regimes_day():
    # 16:30 UTC on 31 December is 00:30 on 1 January in Shanghai: the 2025 version's day there, not in London.
    late = complaint(datetime(2024, 12, 31, 16, 30, tzinfo=UTC))
    assert classification.names_for(TABLE, SHANGHAI, late, "zh_CN")["product_name"] == "银行借记卡"
    assert classification.names_for(TABLE, "Europe/London", late, "zh_CN")["product_name"] == "借记卡"
    # A stored instant without an offset is UTC (SQLite), and the API's ISO text works the same.
    assert classification.received_on(SHANGHAI, datetime(2024, 12, 31, 16, 30)) == date(2025, 1, 1)
    assert classification.received_on(SHANGHAI, "2024-12-31T16:30:00+00:00") == date(2025, 1, 1)


def test_a_retired_code_keeps_its_name_and_text_that_is_no_code_is_left_as_it_is():
    retired = complaint(datetime(2025, 6, 1, tzinfo=UTC), product_code="gold_card", product="Gold card",
                        outcome="upheld")
    names = classification.names_for(TABLE, SHANGHAI, retired, "zh_CN")
    assert (names["product_name"], names["outcome_name"]) == ("金卡", "支持")
    unmapped = complaint(datetime(2025, 6, 1, tzinfo=UTC), product_code=None, product="Platinum card",
                         outcome="resolved")
    names = classification.names_for(TABLE, SHANGHAI, unmapped, "zh_CN")
    assert (names["product_name"], names["outcome_name"]) == ("Platinum card", None)
    # Received before the first version: named by the newest version that knows the code.
    early = complaint(datetime(2019, 1, 1, tzinfo=UTC))
    assert classification.names_for(TABLE, SHANGHAI, early, "zh_CN")["product_name"] == "银行借记卡"
    assert classification.name_of(TABLE, "products", "no_such_code", "en") is None
