"""A draft whose timer expression is heavy is refused by the modeler within the script time limit, naming the
timer and the limit: never a 500, never a web worker held (finding M1: an import held one for 31.5 s)."""
from __future__ import annotations

import io
import time

from app.engine.governance import definitions
from tests.web.pages.conftest import BROWSER, csrf_token, sign_in, text

TIMER = 'sla_due_at("first_response", received_at)'
HEAVY = f"[{', '.join(['max(range(10**7))'] * 200)}]"  # 200 C calls of 0.2-0.5 s each, none of them a loop


def heavy_diagram(runtime) -> bytes:
    source = definitions.read_directory(runtime.settings.processes_dir)["complaint_handling.bpmn"].decode()
    assert source.count(TIMER) == 1
    return source.replace(TIMER, f"{TIMER} if {HEAVY} else None").encode()


def test_importing_a_draft_with_a_heavy_timer_is_refused_within_the_limit(client, demo, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_SCRIPT_SECONDS", "0.5")
    sign_in(client, "owner")
    started = time.monotonic()
    imported = client.post("/modeler/import", data={"file": (io.BytesIO(heavy_diagram(demo)), "heavy.bpmn"),
                                                    "csrf_token": csrf_token(client, "/modeler")},
                           headers=BROWSER, content_type="multipart/form-data")
    assert time.monotonic() - started < 0.5 + 2.0
    assert imported.status_code == 302 and "/modeler/drafts/" in imported.headers["Location"]
    page = imported.headers["Location"].split("localhost", 1)[-1]
    assert "it is not valid yet" in text(client.get(page, headers=BROWSER))

    answer = client.post(f"{page}/validate", headers={"X-CSRFToken": csrf_token(client, page)})
    assert answer.status_code == 200 and answer.json["valid"] is False
    [error] = answer.json["errors"]
    assert error["element_id"] == "first_response_overdue" and "time budget of 0.5 s" in error["message"]

    refused = client.post(f"{page}/deploy", json={"reason": "Heavier timer"},
                          headers={"X-CSRFToken": csrf_token(client, page)})
    assert refused.status_code == 422
    assert any("time budget" in e["message"] for e in refused.json["errors"])
