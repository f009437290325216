"""Saved inbox filters, in English and Chinese: apply filters, save them under a name, open them from the
link, rename and delete them."""
from __future__ import annotations

import pytest

from tests.browser.workspace import assert_translated

TEXTS = {"en": {"saved": "Filter saved as “Cards, overdue”.", "renamed": "Filter renamed."},
         "zh_CN": {"saved": "筛选条件已保存为“Cards, overdue”。", "renamed": "筛选条件已重命名。"}}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_save_open_rename_and_delete_a_filter(visit, locale):
    coordinator = visit("coordinator", locale=locale)
    page = coordinator.page
    coordinator.goto("/inbox?view=all")
    assert page.locator("[data-testid=save-filter-form]").count() == 0  # nothing applied, nothing to save
    page.select_option("[data-testid=filter-department]", "cards")
    page.check("[data-testid=filter-overdue]")
    coordinator.submit("[data-testid=filter-apply]")
    if locale == "zh_CN":
        assert_translated(page, "[data-testid=save-filter-form] label, [data-testid=save-filter-form] button")
    page.fill("[data-testid=saved-filter-name]", "Cards, overdue")
    coordinator.submit("[data-testid=save-filter]")
    assert page.inner_text("[data-testid=flash-success]") == TEXTS[locale]["saved"]
    coordinator.goto("/inbox?view=mine")
    link = page.locator("[data-testid=saved-filter]", has_text="Cards, overdue")
    coordinator.submit(link)
    assert "department=cards" in page.url and "overdue=true" in page.url and "view=all" in page.url
    assert page.locator("[data-testid=filter-overdue]").is_checked()
    assert page.input_value("[data-testid=filter-department]") == "cards"
    coordinator.submit("[data-testid=manage-filters]")
    page.fill("[data-testid=rename-name]", "Late cards")
    coordinator.submit("[data-testid=rename]")
    assert page.inner_text("[data-testid=flash-success]") == TEXTS[locale]["renamed"]
    assert page.locator("[data-testid=saved-filter-row][data-name='Late cards']").count() == 1
    coordinator.submit("[data-testid=delete]")
    assert page.locator("[data-testid=no-saved-filters]").count() == 1
