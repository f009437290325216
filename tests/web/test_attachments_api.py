"""Attachments through the API (issue 28): a file is kept only when its content is an allowed type, within the
limits, and clean; it is downloaded, never rendered; each reader sees the files of their class only (the read
policy), and retention erases the bytes and the name but keeps the evidence."""
from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine.models import Attachment, AuditEvent
from tests.attachment_files import CHINESE_TEXT, EICAR, EXE, HTML, PDF, PNG, SVG, FakeClamd, docx, zip_bomb
from tests.web.conftest import basic
from tests.web.test_api import register

INTAKE, COORDINATOR, CUSTOMER, CHANNEL = basic("intake"), basic("coordinator"), basic("customer"), basic("channel")
OFFICER = basic("cards.officer")


def attach(client, complaint_id, data, name="document.pdf", headers=INTAKE, **fields):
    return client.post(f"/api/v1/complaints/{complaint_id}/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")


@pytest.fixture
def complaint(client):
    return register(client)["id"]


def test_a_pdf_is_kept_and_downloaded_as_an_attachment_byte_for_byte(client, complaint):
    response = attach(client, complaint, PDF, "statement.pdf")
    assert response.status_code == 201, response.json
    kept = response.json
    assert kept["media_type"] == "application/pdf" and kept["size"] == len(PDF)
    assert kept["sha256"] == hashlib.sha256(PDF).hexdigest() and kept["filename"] == "statement.pdf"
    assert kept["field_class"] == "case_file" and kept["source"] == "staff" and kept["scan"] == "unscanned"
    download = client.get(response.headers["Location"], headers=INTAKE)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_a_chinese_name_and_text_keep_their_characters(client, complaint):
    response = attach(client, complaint, CHINESE_TEXT, "投诉说明.txt")
    assert response.status_code == 201 and response.json["filename"] == "投诉说明.txt"
    download = client.get(f"/api/v1/attachments/{response.json['id']}", headers=INTAKE)
    assert download.data == CHINESE_TEXT and download.headers["Content-Type"] == "text/plain"
    assert "filename*=UTF-8''%E6%8A%95%E8%AF%89%E8%AF%B4%E6%98%8E.txt" in download.headers["Content-Disposition"]


def test_the_name_is_made_safe_and_ends_in_what_the_file_is(client, complaint):
    response = attach(client, complaint, PNG, "..\\..\\etc/passwd\u202egnp.exe")
    assert response.status_code == 201
    assert response.json["filename"] == "passwdgnp.exe.png" and response.json["media_type"] == "image/png"


@pytest.mark.parametrize("data, name, says", [
    (HTML, "statement.pdf", "HTML page"),
    (SVG, "photo.svg", "SVG image"),
    (EXE, "invoice.pdf", "cannot be attached"),
    (b"", "empty.pdf", "empty"),
    (zip_bomb(), "report.docx", "zip bomb"),
    (docx(macros=True), "letter.docx", "macros"),
], ids=["html", "svg-with-script", "exe-renamed-pdf", "zero-bytes", "zip-bomb", "macros"])
def test_hostile_files_are_refused_naming_the_field_and_nothing_is_kept(client, complaint, data, name, says):
    response = attach(client, complaint, data, name)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["file"] and says in response.json["errors"]["file"][0]
    assert client.get(f"/api/v1/complaints/{complaint}/attachments", headers=INTAKE).json == {"attachments": []}


def test_a_word_file_is_kept(client, complaint):
    response = attach(client, complaint, docx(), "reply.docx")
    assert response.status_code == 201
    assert response.json["media_type"].endswith("wordprocessingml.document")


def test_sizes_one_byte_over_the_limit_and_far_over_it(client, complaint, demo):
    # A 100 KiB limit: Werkzeug's test client spools bodies over 500 KB to a temporary file it never closes.
    limit = 100 * 1024
    demo.settings = dataclasses.replace(demo.settings, attachments=dataclasses.replace(
        demo.settings.attachments, max_bytes=limit))
    assert attach(client, complaint, b"a" * limit, "just.txt").status_code == 201
    over = attach(client, complaint, b"a" * (limit + 1), "big.txt")
    assert over.status_code == 422 and "larger than 100 KB" in over.json["errors"]["file"][0]
    far = attach(client, complaint, b"a" * (limit + 100_000), "huge.txt")
    assert far.status_code == 413 and far.json["error"] == "request_entity_too_large"
    assert str(limit + 64 * 1024) in far.json["message"]


def test_a_json_body_is_still_held_to_the_small_limit(client):
    response = client.post("/api/v1/complaints", data=b"{" + b" " * (1024 * 1024) + b"}",
                           headers={**INTAKE, "Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_missing_file_part_names_the_field(client, complaint):
    response = client.post(f"/api/v1/complaints/{complaint}/attachments", headers=INTAKE, data={"x": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and list(response.json["errors"]) == ["file"]


def test_the_count_limit(client, complaint, demo):
    demo.settings = dataclasses.replace(demo.settings, attachments=dataclasses.replace(
        demo.settings.attachments, max_per_complaint=2))
    assert attach(client, complaint, PDF).status_code == 201
    assert attach(client, complaint, PNG, "p.png").status_code == 201
    third = attach(client, complaint, PDF)
    assert third.status_code == 422 and "2 files" in third.json["errors"]["file"][0]


def test_each_reader_sees_the_files_of_their_class(client):
    mine = register(client, headers=CUSTOMER)["id"]
    own = attach(client, mine, PDF, "receipt.pdf", headers=CUSTOMER)
    assert own.status_code == 201 and own.json["field_class"] == "submitted" and own.json["source"] == "customer"
    assert "uploaded_by" not in own.json     # a customer never sees who uploaded (staff names are the case file's)
    evidence = attach(client, mine, PNG, "screen.png", headers=COORDINATOR).json
    note = attach(client, mine, PDF, "legal-advice.pdf", headers=COORDINATOR, field_class="internal").json
    assert evidence["field_class"] == "case_file" and note["field_class"] == "internal"
    assert evidence["uploaded_by"] == "coordinator"

    def listed(headers):
        return [a["filename"] for a in client.get(f"/api/v1/complaints/{mine}/attachments",
                                                  headers=headers).json["attachments"]]

    assert listed(CUSTOMER) == ["receipt.pdf"]
    assert listed(COORDINATOR) == ["receipt.pdf", "screen.png", "legal-advice.pdf"]
    # The customer asking for a file of another class gets the same 404 as for no file.
    for hidden in (evidence["id"], note["id"], 999_999):
        assert client.get(f"/api/v1/attachments/{hidden}", headers=CUSTOMER).status_code == 404
    # Staff cannot give a file a class they could not read back; customers cannot class their files.
    intake_note = attach(client, mine, PDF, headers=INTAKE, field_class="internal")
    assert intake_note.status_code == 422 and list(intake_note.json["errors"]) == ["field_class"]
    assert attach(client, mine, PDF, headers=CUSTOMER, field_class="case_file").status_code == 422


def test_another_customers_complaint_is_not_found(client, complaint):
    assert attach(client, complaint, PDF, headers=CUSTOMER).status_code == 404
    assert client.get(f"/api/v1/complaints/{complaint}/attachments", headers=CUSTOMER).status_code == 404


def test_a_channel_attaches_the_customers_documents_but_reads_none(client):
    theirs = register(client, headers=CHANNEL)["id"]
    response = attach(client, theirs, PDF, headers=CHANNEL)
    assert response.status_code == 201 and response.json["source"] == "channel"
    assert client.get(f"/api/v1/complaints/{theirs}/attachments", headers=CHANNEL).json == {"attachments": []}
    assert client.get(response.headers["Location"], headers=CHANNEL).status_code == 404


def test_the_audit_trail_records_the_file_by_digest(client, complaint, demo):
    kept = attach(client, complaint, PDF).json
    with demo.unit_of_work() as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment_added"))
    assert event.complaint_id == complaint and event.detail["sha256"] == kept["sha256"]
    assert event.detail["attachment_id"] == kept["id"]


def test_the_file_is_stored_outside_the_web_root_and_a_changed_file_is_not_handed_out(client, complaint, demo):
    kept = attach(client, complaint, PDF).json
    root = demo.settings.attachments.storage_dir
    assert not root.is_relative_to(Path("app/web/static").resolve())
    with demo.unit_of_work() as uow:
        key = uow.session.get(Attachment, kept["id"]).storage_key
    stored = root / key[:2] / key[2:4] / key
    assert stored.read_bytes() == PDF and oct(stored.stat().st_mode & 0o777) == "0o600"
    stored.write_bytes(PDF.replace(b"Catalog", b"Catalox"))
    response = client.get(f"/api/v1/attachments/{kept['id']}", headers=INTAKE)
    assert response.status_code == 409 and "digest" in response.json["message"]


@pytest.fixture
def clamd(demo):
    server = FakeClamd()
    demo.settings = dataclasses.replace(demo.settings, attachments=dataclasses.replace(
        demo.settings.attachments, scanner="clamd", scanner_address=server.address, scanner_timeout=5))
    yield server
    server.close()


def test_with_clamd_a_clean_file_is_marked_clean_and_a_virus_is_refused_and_recorded(client, complaint, clamd,
                                                                                     demo):
    clean = attach(client, complaint, PDF)
    assert clean.status_code == 201 and clean.json["scan"] == "clean" and clamd.scanned[-1] == PDF
    infected = attach(client, complaint, b"note: " + EICAR, "note.txt")
    assert infected.status_code == 422 and "threat" in infected.json["errors"]["file"][0]
    with demo.unit_of_work() as uow:
        refused = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment_refused"))
    assert refused is not None and refused.detail["signature"] == "Eicar-Test-Signature"
    listed = client.get(f"/api/v1/complaints/{complaint}/attachments", headers=INTAKE).json["attachments"]
    assert [a["id"] for a in listed] == [clean.json["id"]]


def test_with_clamd_down_the_file_is_refused_not_kept_unscanned(client, complaint, clamd, demo):
    clamd.close()
    response = attach(client, complaint, PDF)
    assert response.status_code == 503 and "virus scanner" in response.json["message"]
    assert client.get(f"/api/v1/complaints/{complaint}/attachments", headers=INTAKE).json == {"attachments": []}
