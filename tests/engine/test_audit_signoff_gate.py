"""The deploy gate and the audit trail (finding M7): compliance's decisions are audit events, so deleting a
rejection row from definition_reviews (or inserting an approval there) behind the application's back no longer
makes the rejected file deployable: the gate refuses when the table and the trail disagree, naming both."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text

from app.engine.core.errors import InvalidDefinition
from app.engine.governance import definitions, reviews
from app.engine.models import DefinitionReview
from tests.engine.test_pinned_forms import edited_bundle


def submitted_and_rejected(runtime, actors, files) -> str:
    with runtime.unit_of_work() as uow:
        checksum = reviews.submit(uow, actors["owner"], process_id="complaint_handling",
                                  file_name="complaint_handling.bpmn",
                                  source=files["complaint_handling.bpmn"].decode()).checksum
    with runtime.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "rejected", "Not this wording")
    return checksum


def test_deleting_the_rejection_row_does_not_make_the_file_deployable(governed, actors, clock):
    """Compliance approved, then withdrew the approval with a rejection; the rejection row is deleted in SQL, so
    the table's latest decision is the approval again."""
    files = edited_bundle(governed)
    checksum = submitted_and_rejected(governed, actors, files)
    clock.advance(minutes=5)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Fine after all")
    clock.advance(minutes=5)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "rejected", "No: the regulator objected")
    with governed.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM definition_reviews WHERE checksum = :c AND action = 'rejected' "
                                "AND comment LIKE 'No: %'"), {"c": checksum})
    with governed.unit_of_work() as uow:
        assert reviews.review_statuses(uow, {checksum})[checksum]["status"] == "approved"  # what the table says
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition) as refused:
        definitions.deploy(uow, actors["owner"], files)
    message = str(refused.value.errors[0].message)
    assert "the table says approved by compliance at " in message
    assert "the audit trail says rejected by compliance at " in message
    assert "complaintflow audit verify" in message


def test_deleting_the_only_decision_is_named_too(governed, actors):
    files = edited_bundle(governed)
    checksum = submitted_and_rejected(governed, actors, files)
    with governed.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM definition_reviews WHERE checksum = :c AND action = 'rejected'"),
                           {"c": checksum})
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition,
                                                       match="the table says no decision, the audit trail says "
                                                             "rejected by compliance"):
        definitions.deploy(uow, actors["owner"], files)


def test_an_approval_row_inserted_behind_the_applications_back_is_refused(governed, actors, clock):
    files = edited_bundle(governed)
    checksum = submitted_and_rejected(governed, actors, files)
    with governed.unit_of_work() as uow:
        rejection = uow.session.scalars(select(DefinitionReview).where(DefinitionReview.checksum == checksum,
                                                                       DefinitionReview.action == "rejected")).one()
    clock.advance(hours=1)
    with governed.database.engine.begin() as connection:
        connection.execute(insert(DefinitionReview).values(
            process_id=rejection.process_id, checksum=checksum, action="approved", actor="compliance",
            comment="fine", occurred_at=clock.now(), forms_checksum=rejection.forms_checksum))
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="the table says approved by "
                                                       "compliance .* the audit trail says rejected by compliance"):
        definitions.deploy(uow, actors["owner"], files)


def test_an_approval_given_through_the_application_still_deploys(governed, actors, clock):
    files = edited_bundle(governed)
    checksum = submitted_and_rejected(governed, actors, files)
    clock.advance(minutes=5)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Better now")
    with governed.unit_of_work() as uow:
        deployed = definitions.deploy(uow, actors["owner"], files)
    assert {d.process_id: d.version for d in deployed}["complaint_handling"] == 2
