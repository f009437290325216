"""The reader's time zone, in English and Chinese: the browser's zone becomes the user's at the first sign-in,
the header names it with a link to change it, and due times carry it."""
from __future__ import annotations

import pytest

HEADER = {"en": "Times in {zone}", "zh_CN": "时间为 {zone}"}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_browsers_zone_is_the_users_and_the_header_says_so(visit, case, locale):
    case.register()
    intake = visit("intake", locale=locale, timezone_id="Europe/London")
    page = intake.page
    intake.goto("/inbox?view=team")
    header = page.locator("[data-testid=time-zone]")
    assert header.inner_text() == HEADER[locale].format(zone="Europe/London")
    due = page.locator("[data-testid=due] time").first
    assert due.get_attribute("title") == HEADER[locale].format(zone="Europe/London")
    intake.submit(header)  # the link leads to the preferences, the zone filled in
    assert page.input_value("[data-testid=preferences-timezone]") == "Europe/London"
    page.fill("[data-testid=preferences-timezone]", "America/New_York")
    intake.submit("[data-testid=preferences-save]")
    assert page.inner_text("[data-testid=time-zone]") == HEADER[locale].format(zone="America/New_York")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_later_browser_in_another_zone_does_not_change_the_users_choice(visit, locale):
    visit("coordinator", locale=locale, timezone_id="Asia/Tokyo")  # the first sign-in: Tokyo becomes theirs
    travelling = visit("coordinator", locale=locale, timezone_id="America/Los_Angeles")
    travelling.goto("/inbox")
    assert travelling.page.inner_text("[data-testid=time-zone]") == HEADER[locale].format(zone="Asia/Tokyo")
