"""The letter library page and the outcome data on the complaint page (issue 26): compliance reads the clause
library by regime and language and signs off a submission (never its own); complaint management records the
redress paid. Everyone else gets the 403 page."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import Complaint, LetterLibraryReview
from tests.web.pages.conftest import BROWSER, post, sign_in, text

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def test_compliance_reads_the_library_by_regime_and_language(client):
    sign_in(client, "compliance")
    page = text(client.get("/letter-library?regime=disp&language=en", headers=BROWSER))
    assert 'data-testid="nav-letter-library"' in page and 'data-signed-off="true"' in page
    assert 'data-testid="letter-element-ombudsman_leaflet"' in page and "by the regulation" in page
    page = text(client.get("/letter-library?regime=cbirc&language=zh_CN", headers=BROWSER))
    assert "经核实的事实" in page and 'data-testid="letter-element-verification_right"' in page


def test_the_submitter_cannot_sign_off_and_others_may_not_open_the_page(client, app, demo):
    sign_in(client, "compliance")
    post(client, "/letter-library/submit", {"comment": "Yearly review"}, page="/letter-library")
    with demo.unit_of_work() as uow:
        checksum = uow.settings.letter_library.checksum
    page = text(post(client, "/letter-library/sign-off", {"checksum": checksum, "comment": "ok",
                                                          "decision": "approve"}, page="/letter-library",
                     follow_redirects=True))
    assert "four eyes" in page
    with demo.unit_of_work() as uow:
        actions = list(uow.session.scalars(select(LetterLibraryReview.action).order_by(LetterLibraryReview.id)))
    assert actions == ["submitted", "approved", "submitted"]      # the demo's sign-off, then the new submission
    intake = app.test_client()
    sign_in(intake, "intake")
    assert intake.get("/letter-library", headers=BROWSER).status_code == 403


def test_the_redress_paid_is_recorded_on_the_complaint_page(client, demo, driver):
    cid = driver.handle_until_feedback()
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-testid="outcome-data"' in page and 'data-testid="redress-paid-form"' in page
    assert "Upheld" in page
    post(client, f"/complaints/{cid}/redress-paid", {"redress_paid": "25.00"}, page=f"/complaints/{cid}")
    with demo.unit_of_work() as uow:
        assert str(uow.session.get(Complaint, cid).redress_paid) == "25.00"
    page = text(post(client, f"/complaints/{cid}/redress-paid", {"redress_paid": "a lot"}, page=f"/complaints/{cid}",
                     follow_redirects=True))
    assert "flash-error" in page
