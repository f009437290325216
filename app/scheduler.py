"""The scheduler: an adapter that fires due timers, one instance per transaction, then sends the warnings that
are due (services/sla_warnings.py) and delivers the outbox (app/delivery.py). Its own process
(`complaintflow scheduler`), never started by a web worker; `complaintflow fire-timers` runs it once.
Every run is logged: fired, failed, lag (how late the most overdue timer fired), warnings, sent, retried and
given up.

One run fires every timer due by its ``now``: it asks for due instances in batches until none is left. Any
number of runs may go on in parallel: on PostgreSQL each instance is claimed with FOR UPDATE SKIP LOCKED (a
claimed one is left to its claimer), and the instance's lock version makes any other overlap lose. A case
whose step fails becomes an incident (recorded after the rollback, in its own transaction) and waits out its
backoff; it never stops the others.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from app.engine.core.db import RETRYABLE_PGCODES
from app.engine.core.errors import StaleInstance
from app.engine.process import incidents, timers
from app.engine.process import steps as steps_service

if TYPE_CHECKING:
    from app.delivery import DeliveryReport
    from app.engine.deadlines.sla_warnings import WarningReport

log = logging.getLogger(__name__)

BATCH = 100
# Instances fired per scheduler transaction, each step in its own savepoint (one commit for all of them).
PER_TRANSACTION = 20
# An instance whose firing leads to another timer already due is stepped again, at most this often per run.
MAX_STEPS_PER_INSTANCE = 10
# How often the scheduler process looks up the next due time (one index lookup on timers.state, due_at): a timer
# written by another process with an earlier due time is seen within this.
WAKE_POLL = 0.5
# When the daily retention job runs (UTC); short batches keep it light whatever the regime's working hours.
RETENTION_HOUR, RETENTION_MINUTE = 2, 30


@dataclass
class FiringReport:
    fired: int = 0
    instances: list[int] = field(default_factory=list)      # instances on which something fired
    failures: dict[int, str] = field(default_factory=dict)  # instance -> error, each now an incident
    incidents_opened: int = 0
    incidents_resolved: int = 0
    skipped: int = 0                                         # held by another process, or lost a race
    lag: float = 0.0                                         # seconds between the oldest due time and its firing

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        text = f"fired {self.fired} timer(s) on {len(self.instances)} instance(s), {self.failed} failed"
        if self.incidents_opened or self.incidents_resolved:
            text += f"; incidents: {self.incidents_opened} opened, {self.incidents_resolved} resolved"
        return text


def fire_due_timers(runtime, now: datetime | None = None, *, batch: int = BATCH,
                    per_transaction: int = PER_TRANSACTION) -> FiringReport:
    """Fire every timer due by ``now`` (default: the runtime's clock), in batches, until none is due."""
    now = now or runtime.clock.now()
    report = FiringReport()
    given_up: set[int] = set()   # this run leaves these alone: claimed elsewhere, failed, or nothing to fire
    steps: dict[int, int] = {}
    while True:
        with runtime.unit_of_work() as uow:
            due = timers.due_instance_ids(uow, now, batch, given_up)
        if not due:
            return report
        for start in range(0, len(due), per_transaction):
            chunk = due[start:start + per_transaction]
            fired = _fire_instances(runtime, chunk, now, report)
            for instance_id in chunk:
                steps[instance_id] = steps.get(instance_id, 0) + 1
                if instance_id not in fired or steps[instance_id] >= MAX_STEPS_PER_INSTANCE:
                    given_up.add(instance_id)


def _fire_instances(runtime, instance_ids: list[int], now: datetime, report: FiringReport) -> set[int]:
    """Several instances in one transaction, each step in its own savepoint: a step that fails or loses a race
    rolls back alone, the others commit together (one commit, not one per instance). Returns the instances on
    which something fired (they may have more due). Failures become incidents after the commit; if the commit
    itself fails, the instances are fired again one per transaction, so only the culprit becomes an incident."""
    outcomes: list = []
    failures: list[tuple[int, Exception]] = []
    skipped = 0
    try:
        with runtime.unit_of_work() as uow:
            # The batch's first reads in three queries; an instance another process holds is not claimed here.
            loaded = steps_service.prefetch(uow, instance_ids, claim=True)
            for instance_id in instance_ids:
                if instance_id not in loaded:
                    skipped += 1
                    continue
                try:
                    with runtime.workflows.savepoint(uow.session):
                        outcome = timers.fire_due_timers_of(uow, instance_id, now, preloaded=loaded[instance_id])
                except (StaleDataError, StaleInstance):
                    skipped += 1  # another step on this case committed first; a later run sees the rest
                    continue
                except DBAPIError as err:
                    if getattr(err.orig, "pgcode", None) in RETRYABLE_PGCODES:
                        skipped += 1  # deadlock or serialization failure: lost a race
                    else:
                        failures.append((instance_id, err))
                    continue
                except Exception as err:
                    failures.append((instance_id, err))
                    continue
                if outcome is None:
                    skipped += 1
                else:
                    outcomes.append((instance_id, outcome))
    except StaleInstance:
        if len(instance_ids) > 1:
            return _one_by_one(runtime, instance_ids, now, report)
        report.skipped += 1  # the commit lost a race: nothing of this transaction happened
        return set()
    except Exception as err:
        if len(instance_ids) > 1:
            log.warning("timer batch of %s instances failed at commit (%s); firing them one by one",
                        len(instance_ids), err)
            return _one_by_one(runtime, instance_ids, now, report)
        failures = [(instance_ids[0], err)]
        outcomes = []
    report.skipped += skipped
    fired: set[int] = set()
    for instance_id, outcome in outcomes:
        if _count(instance_id, outcome, now, report):
            fired.add(instance_id)
    for instance_id, error in failures:
        _record_failure(runtime, instance_id, error, now, report)
    return fired


def _one_by_one(runtime, instance_ids: list[int], now: datetime, report: FiringReport) -> set[int]:
    fired: set[int] = set()
    for instance_id in instance_ids:
        fired |= _fire_instances(runtime, [instance_id], now, report)
    return fired


def _count(instance_id: int, outcome, now: datetime, report: FiringReport) -> bool:
    report.incidents_resolved += outcome.incidents_resolved
    if not outcome.fired:
        return False
    report.fired += len(outcome.fired)
    dues = [t.due_at for t in outcome.fired if t.due_at is not None]
    if dues:
        report.lag = max(report.lag, (now - min(dues)).total_seconds())
    if instance_id not in report.instances:
        report.instances.append(instance_id)
    return True


def _record_failure(runtime, instance_id: int, err: Exception, now: datetime, report: FiringReport) -> None:
    log.warning("timer step failed on instance %s: %s", instance_id, err, exc_info=err)
    report.failures[instance_id] = incidents.describe(err)[2]
    try:
        with runtime.unit_of_work() as uow:
            _, opened = incidents.record_failure(uow, instance_id, err, now)
        report.incidents_opened += opened
    except Exception:
        log.exception("could not record the incident of instance %s", instance_id)


def next_due_at(runtime, after: datetime | None = None) -> datetime | None:
    with runtime.unit_of_work() as uow:
        due = timers.next_due_at(uow, after)
    if due is not None and due.tzinfo is None:  # SQLite hands back naive UTC
        due = due.replace(tzinfo=UTC)
    return due


@dataclass
class RunReport:
    timers: FiringReport
    warnings: WarningReport
    delivery: DeliveryReport | None     # None when the run does not send

    def summary(self) -> str:
        text = f"{self.timers.summary()}, lag {self.timers.lag:.1f} s; {self.warnings.summary()}"
        if self.delivery is not None:
            d = self.delivery
            text += f"; outbox: {d.sent} sent, {d.failed} to retry, {d.given_up} given up"
        return text


def run_once(runtime, now: datetime | None = None, *, transport=None, deliver: bool = True) -> RunReport:
    """One scheduler run with one clock: the timers due by ``now`` fire, then the warnings due by ``now`` are
    written, then (``deliver``) the outbox is sent, the messages this very run wrote included."""
    from app.engine.deadlines.sla_warnings import fire_due_warnings  # noqa: PLC0415

    now = now or runtime.clock.now()
    timers_report = fire_due_timers(runtime, now)
    warnings_report = fire_due_warnings(runtime, now)
    delivery_report = None
    if deliver:
        from app.delivery import deliver_due  # noqa: PLC0415 - SMTP only where messages are sent
        delivery_report = deliver_due(runtime, transport)
    report = RunReport(timers_report, warnings_report, delivery_report)
    log.info("scheduler run at %s: %s", now.isoformat(), report.summary())
    return report


def wake(runtime, blocking, echo=print) -> None:
    """Fire now what is due; arm a one-off job at the next due time if it falls before the next poll.

    The next due time to arm at is looked up after "now": a timer due but not firable this run (its case in
    incident backoff, or held by another process) must not hide the next one behind it until the next poll."""
    now = runtime.clock.now()
    due = next_due_at(runtime)
    if due is None:
        return
    if due <= now:
        _fire_and_echo(runtime, echo)
        now = runtime.clock.now()
        due = next_due_at(runtime, after=now)
        if due is None:
            return
    if (due - now).total_seconds() < WAKE_POLL:
        blocking.add_job(_fire_and_echo, "date", run_date=due, args=(runtime, echo), id="wake-at-due",
                         replace_existing=True, misfire_grace_time=None)


def _fire_and_echo(runtime, echo) -> None:
    report = fire_due_timers(runtime)
    if report.fired or report.failed or report.incidents_resolved:
        echo(f"{report.summary()}, lag {report.lag:.1f} s")


def seal_audit_trail(runtime, echo=print) -> None:
    """The sealing job: seal what is committed, sign a checkpoint if due; a failure is logged, never fatal."""
    from app.engine import audit  # noqa: PLC0415

    try:
        report = audit.seal(runtime, wait=False)
    except Exception:
        log.exception("audit: sealing failed")
        return
    if report.checkpoints:
        echo(report.summary())


def apply_retention(runtime, echo=print) -> None:
    """The daily retention job: anonymise the closed complaints kept past their regime's period (config/
    retention.toml), a batch per transaction; a failure is logged, never fatal (the next day's run takes it up)."""
    from app.engine.complaints import retention  # noqa: PLC0415
    from app.engine.core.actors import SCHEDULER  # noqa: PLC0415

    try:
        report = retention.run(runtime, SCHEDULER)
    except Exception:
        log.exception("retention: anonymisation failed")
        return
    log.info(report.summary())
    if report.anonymised:
        echo(report.summary())


def read_mail(runtime, echo=print, settings=None) -> None:
    """The mail-in job (config/mail_in.toml, read once at the scheduler's start: ``settings``): take in the
    complaints mailbox; a failure is logged, never fatal (what was not taken in stays unread for the next run)."""
    from app.intake import run_configured  # noqa: PLC0415

    try:
        report = run_configured(runtime, settings)
    except Exception:
        log.exception("mail-in: reading the mailbox failed")
        return
    if report is not None and (report.read or report.errors):
        log.info(report.summary())
        echo(report.summary())


def run_forever(runtime, interval: int, echo=print, transport=None) -> None:
    """The `complaintflow scheduler` process: an APScheduler job every ``interval`` s firing due timers, writing
    due warnings and delivering the outbox; each run that did something is echoed, every run logged."""
    from apscheduler.schedulers.blocking import BlockingScheduler  # noqa: PLC0415 - only this process needs it

    def job():
        report = run_once(runtime, transport=transport)
        t, w, d = report.timers, report.warnings, report.delivery
        if t.fired or t.failed or t.incidents_resolved or w.sent or (d and (d.sent or d.failed or d.given_up)):
            echo(report.summary())

    blocking = BlockingScheduler(timezone="UTC")
    blocking.add_job(job, "interval", seconds=interval, max_instances=1, coalesce=True,
                     next_run_time=datetime.now().astimezone())
    # Timers on time: the run above is the safety net (and sends warnings and the outbox); this one wakes at the
    # next due time, found by a cheap index lookup every WAKE_POLL s (a step in any process may write an earlier
    # timer), so a deadline fires at its due time instead of up to ``interval`` s late.
    blocking.add_job(lambda: wake(runtime, blocking, echo), "interval", seconds=WAKE_POLL, max_instances=1,
                     coalesce=True, id="wake-poll")
    # The audit trail: committed events sealed into the hash chain every few seconds, checkpoints signed when due
    # (config/audit.toml). A sealer already running elsewhere (another scheduler) makes this run skip, not wait.
    blocking.add_job(lambda: seal_audit_trail(runtime, echo), "interval",
                     seconds=runtime.settings.audit.seal_every_seconds, max_instances=1, coalesce=True,
                     id="audit-seal")
    # Retention, once a day at a quiet hour (UTC); another scheduler running it at the same time skips the cases
    # this one holds (FOR UPDATE SKIP LOCKED), so every case is anonymised once.
    blocking.add_job(lambda: apply_retention(runtime, echo), "cron", hour=RETENTION_HOUR, minute=RETENTION_MINUTE,
                     max_instances=1, coalesce=True, id="retention")
    # E-mail intake, when config/mail_in.toml names a mailbox: each message is taken in once whoever reads it.
    from app.intake import config as mail_in_config  # noqa: PLC0415

    mail_in = mail_in_config.load(runtime.settings.config_dir)
    if mail_in.configured:
        blocking.add_job(lambda: read_mail(runtime, echo, mail_in), "interval", seconds=mail_in.every_seconds,
                         max_instances=1, coalesce=True, id="mail-in")
    echo(f"scheduler: firing due timers, warnings and the outbox every {interval} s (Ctrl+C to stop)")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        blocking.start()
