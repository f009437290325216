"""Importing a file that holds nothing to deploy says why, on the page it came from, in the reader's language."""
from __future__ import annotations

import io

from tests.web.pages.conftest import BROWSER, csrf_token, sign_in, text

NOT_EXECUTABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="sketch" isExecutable="false"><bpmn:startEvent id="s" /></bpmn:process>
</bpmn:definitions>"""


def _import(client, content: bytes, name: str, language: str = "en"):
    return client.post("/modeler/import", data={"file": (io.BytesIO(content), name),
                                                "csrf_token": csrf_token(client, "/modeler")},
                       headers={**BROWSER, "Accept-Language": language}, content_type="multipart/form-data")


def test_a_file_without_an_executable_process_is_refused_with_its_reason(client):
    sign_in(client, "owner")
    response = _import(client, NOT_EXECUTABLE, "sketch.bpmn")
    assert response.status_code == 303 and response.headers["Location"].endswith("/modeler")
    page = text(client.get("/modeler", headers=BROWSER))
    assert "sketch.bpmn was not imported: The file must hold exactly one executable process" in page


def test_the_reason_is_given_in_chinese(client):
    sign_in(client, "owner", language="zh-CN")
    _import(client, b"not xml at all", "junk.bpmn", language="zh-CN")
    page = text(client.get("/modeler", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "junk.bpmn 未导入：" in page
