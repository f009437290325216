"""The complaint page of an anonymised case says so, with the day, in the reader's language (issue 26): the
facts shown are retention's markers, not the customer's."""
from __future__ import annotations

from datetime import UTC, datetime

from app.delivery import FileTransport, deliver_due
from app.engine.complaints import retention
from app.engine.core.actors import SYSTEM
from app.sms import SmsFileSink
from tests.web.pages.conftest import BROWSER, sign_in, text


def test_the_complaint_page_shows_the_day_it_was_anonymised_in_both_languages(app, driver, clock, tmp_path):
    client = app.test_client()
    clock.set(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    cid = driver.handle_until_feedback()
    driver.feedback(cid, True, 5)          # satisfied: the case closes and its process ends
    deliver_due(driver.runtime, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    sign_in(client, "coordinator")
    assert 'data-testid="anonymised"' not in text(client.get(f"/complaints/{cid}", headers=BROWSER))

    clock.set(datetime(2032, 3, 3, 2, 0, tzinfo=UTC))   # CBIRC: 5 years after closure, and a day
    assert [a.complaint_id for a in retention.run(driver.runtime, SYSTEM).anonymised] == [cid]
    client = app.test_client()                           # five years on, the earlier session has long ended
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert "Anonymised on Mar 3, 2032" in page and "[anonymised]" in page
    assert "Customer 1" not in page and "Personal data anonymised: retention period over" in page
    client = app.test_client()
    sign_in(client, "coordinator", language="zh-CN")
    chinese = text(client.get(f"/complaints/{cid}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "已于 2032年3月3日 匿名化" in chinese and "保存期限届满，个人信息已匿名化" in chinese
