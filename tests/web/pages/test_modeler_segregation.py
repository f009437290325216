"""The modeler's validate and deploy endpoints refuse a draft that renames a user task segregation of duties
guards (config/segregation.toml), naming the element, the rule and how to keep it."""
from __future__ import annotations

import re

from app.engine.governance import drafts
from app.engine.governance.definitions import latest_definition
from tests.web.pages.conftest import csrf_token, sign_in


def draft_of(runtime, owner, edit) -> int:
    with runtime.unit_of_work() as uow:
        current = latest_definition(uow.session, "complaint_handling")
        return drafts.open_draft(uow, owner, current.id, edit(current.bpmn_source)).id


def approval_renamed(source: str) -> str:
    return re.sub(r'(?<=[">])approve_resolution(?=["<])', "sign_off_resolution", source)


def approval_relabelled(source: str) -> str:
    return source.replace('id="approve_resolution" name="Approve resolution"',
                          'id="approve_resolution" name="Sign off the resolution"')


def test_the_validate_endpoint_answers_with_the_error(client, demo, actors):
    draft_id = draft_of(demo, actors["owner"], approval_renamed)
    sign_in(client, "owner")
    page = f"/modeler/drafts/{draft_id}"
    answer = client.post(f"{page}/validate", headers={"X-CSRFToken": csrf_token(client, page)})
    assert answer.status_code == 200 and answer.json["valid"] is False
    [error] = [e for e in answer.json["errors"] if "config/segregation.toml" in e["message"]]
    assert "approve_resolution" in error["message"] and "resolution_approver_independent" in error["message"]
    assert "Four eyes on a resolution" in error["message"]
    assert "keep the element id; rename its label instead" in error["message"].lower()

    refused = client.post(f"{page}/deploy", json={"reason": "Clearer id"},
                          headers={"X-CSRFToken": csrf_token(client, page)})
    assert refused.status_code == 422
    assert any("resolution_approver_independent" in e["message"] for e in refused.json["errors"])


def test_a_relabelled_approval_validates(client, demo, actors):
    draft_id = draft_of(demo, actors["owner"], approval_relabelled)
    sign_in(client, "owner")
    page = f"/modeler/drafts/{draft_id}"
    answer = client.post(f"{page}/validate", headers={"X-CSRFToken": csrf_token(client, page)})
    assert answer.status_code == 200 and answer.json["valid"] is True, answer.json
