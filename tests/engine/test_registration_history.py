"""A registration is one instant: the complaint's receipt, its "registered" history line and the process start
share it, so the history reads "registered", then "process started", whatever the clock does meanwhile."""
from datetime import timedelta

from app.engine.complaints import registration
from app.engine.core.clock import ManualClock


class TickingClock(ManualClock):
    """Moves a millisecond on every reading, as the wall clock does while a registration runs."""

    def now(self):
        return self.advance(timedelta(milliseconds=1))


def test_the_history_of_a_new_complaint_starts_with_its_registration(case, actors):
    case.runtime.clock = TickingClock()
    cid = case.register()
    with case.runtime.unit_of_work() as uow:
        complaint = registration.get_complaint(uow, actors["coordinator"], cid)
    first, second = complaint["history"][:2]
    assert [first["action"], second["action"]] == ["complaint_registered", "process_started"]
    assert first["at"] == second["at"] == complaint["received_at"]
