"""The registration and classification forms offer config/classification.toml's codes, named in the reader's
language (the English title, or the choice's x-i18n Chinese for a Chinese reader)."""
from __future__ import annotations

from tests.web.pages.conftest import BROWSER, sign_in, text

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def test_the_register_form_offers_coded_products_causes_and_places_in_english(client, driver):
    sign_in(client, "intake")
    page = text(client.get("/complaints/new", headers=BROWSER))
    assert 'value="debit_card"' in page and ">Debit card<" in page
    assert 'value="fees_charges"' in page and ">Fees and charges<" in page
    assert 'name="place_of_business"' in page and ">Self-service machine (ATM, kiosk)<" in page
    assert ">借记卡<" not in page   # shown in English; the Chinese name is only searched (the picker's data-search)
    assert 'data-search="debit_card debit card debit card 借记卡"' in page


def test_the_register_form_names_the_codes_in_chinese(client, driver):
    sign_in(client, "intake", language="zh-CN")
    page = text(client.get("/complaints/new", headers=CHINESE))
    assert 'value="debit_card"' in page and ">借记卡<" in page
    assert 'value="fees_charges"' in page and ">收费问题<" in page
    assert ">营业网点柜面<" in page and "业务办理场所" in page and "投诉原因" in page
    assert ">Debit card<" not in page


def test_the_classify_task_offers_the_codes_in_chinese(client, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    sign_in(client, "intake", language="zh-CN")
    page = text(client.get(f"/tasks/{task.id}", headers=CHINESE))
    assert 'value="credit_card"' in page and ">信用卡<" in page and ">手机银行<" in page
