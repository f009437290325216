"""The case history shows what was entered at each step, joined back from the audit trail's personal data, and
once the retention job has erased it, that it was removed under the retention rule, in the reader's language."""
from __future__ import annotations

from datetime import UTC, datetime

from app.delivery import FileTransport, deliver_due
from app.engine.complaints import retention
from app.engine.core.actors import SYSTEM
from app.sms import SmsFileSink
from tests.web.pages.conftest import BROWSER, sign_in, text

MESSAGE = "We refunded the fee."          # tests/support.py DRAFT's customer_message


def test_the_history_shows_the_entered_text_then_the_retention_marker_in_both_languages(app, driver, clock,
                                                                                          tmp_path):
    client = app.test_client()
    clock.set(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    cid = driver.handle_until_feedback()
    driver.feedback(cid, True, 5)
    deliver_due(driver.runtime, FileTransport(tmp_path / "mail"), sms=SmsFileSink(tmp_path / "sms"))
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-testid="timeline-data-customer_message"' in page and MESSAGE in page
    assert "removed under the retention rule" not in page

    clock.set(datetime(2032, 3, 3, 2, 0, tzinfo=UTC))
    assert [a.complaint_id for a in retention.run(driver.runtime, SYSTEM).anonymised] == [cid]
    client = app.test_client()
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert "removed under the retention rule" in page and MESSAGE not in page
    client = app.test_client()
    sign_in(client, "coordinator", language="zh-CN")
    chinese = text(client.get(f"/complaints/{cid}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "已按保留规则删除" in chinese and MESSAGE not in chinese
