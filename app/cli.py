"""The `complaintflow` command: a thin adapter over the engine's services."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from app.engine.core.actors import SYSTEM
from app.engine.core.errors import DomainError, InvalidDefinition


def _runtime(url: str | None = None):
    """The command's runtime, closed (connections returned) when the command ends."""
    from app.composition import build_runtime  # noqa: PLC0415 - keep `--help` fast
    runtime = build_runtime(url)
    click.get_current_context().call_on_close(runtime.close)
    return runtime


@click.group()
def main():
    """Complaintflow: complaint handling for banks on BPMN."""


@main.command("init-db")
@click.option("--reset", is_flag=True, help="Drop every table first (destroys all data).")
def init_db(reset):
    """Create or upgrade the database schema (Alembic)."""
    from app.engine.models import schema  # noqa: PLC0415
    runtime = _runtime()
    if reset:
        schema.drop_everything(runtime.database)
    schema.upgrade(runtime.database)
    click.echo(f"database ready: {runtime.database.engine.url.render_as_string(hide_password=True)}")


@main.command("load-demo")
@click.option("--reset-demo", is_flag=True,
              help="Also reset the demo users (public passwords, re-activated) in a database that has users.")
def load_demo(reset_demo):
    """Load departments, and deploy the processes of processes/ that the database has no definition of (a
    changed file is reported, never deployed: use `deploy`); demo users (see README) only into a database
    without users, unless --reset-demo."""
    from app.engine.demo.loader import load_demo as load  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            result = load(uow, reset_users=reset_demo)
    except InvalidDefinition as err:
        _print_definition_errors(err.errors, "nothing loaded")
        sys.exit(1)
    if result["users"]:
        click.echo(f"users: {', '.join(result['users'])}")
    else:
        click.echo(f"users: none loaded; the database already has {result['existing_users']} user(s), left as "
                   "they are (--reset-demo resets the demo users to their public passwords)")
    click.echo("definitions: " + ", ".join(f"{pid} v{v}" for pid, v in result["definitions"]))
    processes_dir = _shown(runtime.settings.processes_dir)
    for pid, version, file_name in result["differing"]:
        click.echo(f"{processes_dir / file_name} differs from {pid} v{version}, the current version, and was not "
                   "deployed: `complaintflow deploy` deploys it (validated, and signed off first when "
                   "config/governance.toml requires it)")


def _shown(path: Path) -> Path:
    """A path as typed from here: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


@main.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
def deploy(directory):
    """Validate and deploy the BPMN files of DIRECTORY (default: processes/)."""
    from app.engine.governance import definitions  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            deployed = definitions.deploy(uow, SYSTEM, definitions.read_directory(
                directory or runtime.settings.processes_dir))
            click.echo("\n".join(f"{d.process_id} v{d.version} ({d.file_name})" for d in deployed))
    except InvalidDefinition as err:
        _print_definition_errors(err.errors, "nothing deployed")
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--each", is_flag=True, help="Validate every file on its own (e.g. a folder of unrelated files), "
                                           "not as one deployment.")
def validate(paths, each):
    """Validate BPMN files (a folder: its .bpmn files, recursively); print each error with file, line and
    element. Exit 1 if any."""
    from app.engine.governance import definitions  # noqa: PLC0415
    runtime = _runtime("sqlite://")  # validation needs no database
    files = [file for path in paths for file in (sorted(path.rglob("*.bpmn")) if path.is_dir() else [path])]
    if not files:
        raise click.ClickException("no .bpmn file in " + ", ".join(map(str, paths)))
    bundles = [[file] for file in files] if each else [files]
    invalid = 0
    for bundle in bundles:
        errors = definitions.validate_files(runtime, {_label(f, paths): f.read_bytes() for f in bundle})
        invalid += bool(errors)
        if errors:
            _print_definition_errors(errors, "no file was changed or deployed")
        elif each:
            click.echo(f"{_label(bundle[0], paths)}: valid")
    if each:
        click.echo(f"{len(files)} file(s): {len(files) - invalid} valid, {invalid} invalid")
    elif not invalid:
        click.echo(f"{len(files)} file(s) valid")
    sys.exit(1 if invalid else 0)


def _label(file: Path, paths) -> str:
    """The name errors are reported under: the path inside the folder given, or the file's own name."""
    for path in paths:
        if path.is_dir() and file.is_relative_to(path):
            return str(file.relative_to(path))
    return file.name


def _print_definition_errors(errors, consequence: str):
    for error in errors:
        click.echo(str(error), err=True)
    click.echo(f"{len(errors)} error(s); {consequence}", err=True)


@main.command("fire-timers")
@click.option("--now", "now", help="ISO 8601 instant to fire against (default: the current time).")
def fire_timers(now):
    """Fire every timer that is due, in batches until none is left, then write the deadline warnings that are due,
    both by the same clock (what the scheduler runs periodically; it also sends the outbox). Exits 1 when a case
    failed (it is then an open incident, retried with backoff)."""
    from app.engine.core.times import parse_instant  # noqa: PLC0415
    from app.scheduler import run_once  # noqa: PLC0415
    runtime = _runtime()
    run = run_once(runtime, parse_instant(now) if now else None, deliver=False)
    report = run.timers
    click.echo(report.summary())
    click.echo(run.warnings.summary())
    for instance_id, message in report.failures.items():
        click.echo(f"instance {instance_id}: {message}", err=True)
    sys.exit(1 if report.failures else 0)


@main.command()
@click.argument("count", type=click.IntRange(min=1))
def simulate(count):
    """Drive COUNT complaints through the full lifecycle; print complaints per second."""
    from sqlalchemy import func, select  # noqa: PLC0415

    from app.engine.models import Complaint  # noqa: PLC0415
    from app.simulate import simulate as run  # noqa: PLC0415
    runtime = _runtime()
    with runtime.unit_of_work() as uow:
        start = uow.session.scalar(select(func.count(Complaint.id))) or 0
    result = run(runtime, count, start=start)
    click.echo(f"{result.complaints} complaints, {result.tasks_completed} tasks completed in "
               f"{result.seconds:.2f} s: {result.per_second:.1f} complaints/s")


@main.group("classification")
def classification_group():
    """The complaint classification (config/classification.toml): products, causes, places, outcomes."""


@classification_group.command("map-report")
def classification_map_report():
    """How many complaints carry each product code, and the free-text products left unmapped, with counts."""
    from app.engine.complaints.classification import map_report  # noqa: PLC0415
    runtime = _runtime()
    with runtime.unit_of_work() as uow:
        report = map_report(uow)
    mapped = sum(n for _, _, n in report.mapped)
    unmapped = sum(n for _, n in report.unmapped)
    click.echo(f"{mapped} complaints mapped to a product code, {unmapped} unmapped")
    if report.mapped:
        click.echo("\nMapped, by product code:")
        width = max(len(code) for code, _, _ in report.mapped)
        for code, name, count in report.mapped:
            click.echo(f"  {count:>7}  {code.ljust(width)}  {name}")
    if report.unmapped:
        click.echo("\nUnmapped product texts (add them to [legacy_products] of config/classification.toml):")
        for text, count in report.unmapped:
            hint = report.suggestions.get(text)
            click.echo(f"  {count:>7}  {text!r}" + (f"  (the table now maps it to {hint})" if hint else ""))


@main.group()
def tokens():
    """API tokens for integrations: create, list, revoke."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="What the token is for, e.g. the integration.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=1), help="Days until it expires.")
def create_token(username, name, days):
    """Create an API token for USERNAME and print it (it is shown only once)."""
    from app.engine.identity.users import issue_token  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            row, token = issue_token(uow, username, name, days=days)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(token)  # alone on stdout, so scripts can capture it
    click.echo(f"token {row.id} for {username} ({name}), expires {_minute(row.expires_at)}; it is shown only once",
               err=True)


@tokens.command("list")
@click.argument("username", required=False)
def list_tokens(username):
    """List the API tokens (of USERNAME): id, user, name, created, expires, last used, revoked. Never the token."""
    from app.engine.identity.users import list_tokens as query  # noqa: PLC0415
    runtime = _runtime()
    with runtime.unit_of_work() as uow:
        rows = [(str(t.id), t.user.username, t.name, _minute(t.created_at), _minute(t.expires_at, "never"),
                 _minute(t.last_used_at), _minute(t.revoked_at)) for t in query(uow, username)]
    header = ("id", "user", "name", "created", "expires", "last used", "revoked")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def revoke_token(token_id):
    """Revoke the API token ID (see `tokens list`); requests with it get 401 from then on."""
    from app.engine.identity.users import revoke_token as revoke  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            row = revoke(uow, token_id)
            click.echo(f"token {row.id} ({row.user.username}, {row.name}) revoked {_minute(row.revoked_at)}")
    except DomainError as err:
        raise click.ClickException(err.message) from err


@main.command("create-token", hidden=True)
@click.argument("username")
@click.option("--name", default="api")
@click.option("--days", default=90, type=click.IntRange(min=1))
@click.pass_context
def create_token_alias(ctx, username, name, days):
    """Old name of `tokens create`, kept for existing scripts."""
    ctx.forward(create_token)


@main.group()
def users():
    """Staff and customer accounts: reset a password, deactivate an account (each ends the user's sessions)."""


@users.command("set-password")
@click.argument("username")
@click.password_option(prompt="New password", help="Asked for when not given (hidden, twice).")
def set_password(username, password):
    """Set USERNAME's password; every browser session of theirs ends."""
    from app.engine.identity.users import reset_password  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            ended = reset_password(uow, SYSTEM, username, password)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"password of {username} set; {ended} session(s) ended")


@users.command("deactivate")
@click.argument("username")
def deactivate(username):
    """Deactivate USERNAME: they can no longer sign in or use their tokens, and every session of theirs ends."""
    from app.engine.identity.users import deactivate_user  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            deactivate_user(uow, SYSTEM, username)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"{username} deactivated; their sessions ended")


def _minute(value: datetime | None, missing: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else missing


@main.group("letters")
def letters_group():
    """The clause library of the letters (config/letters.toml): submit it for sign-off, sign it off, its status."""


def _acting(uow, username: str):
    """The person a review command acts for (the CLI's operator names them: four eyes are checked on them)."""
    from sqlalchemy import select  # noqa: PLC0415

    from app.engine.identity.users import actor_for  # noqa: PLC0415
    from app.engine.models import User  # noqa: PLC0415
    user = uow.session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    if user is None:
        raise click.ClickException(f"No active user {username!r}")
    return actor_for(user)


@letters_group.command("submit")
@click.option("--as", "username", required=True, help="Who submits it (compliance or a process owner).")
@click.option("--comment", default="", help="What changed.")
def letters_submit(username, comment):
    """Submit the library the application writes letters from (its exact bytes) to compliance for sign-off."""
    from app.engine.governance import letter_library  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            row = letter_library.submit(uow, _acting(uow, username), comment=comment)
            click.echo(f"submitted config/letters.toml sha256 {row.checksum} for sign-off by {row.actor}")
    except DomainError as err:
        raise click.ClickException(err.message) from err


@letters_group.command("sign-off")
@click.argument("checksum")
@click.option("--as", "username", required=True, help="The compliance officer deciding (not the submitter).")
@click.option("--reject", is_flag=True, help="Reject instead of approving.")
@click.option("--comment", required=True, help="Why (part of the audit trail).")
def letters_sign_off(checksum, username, reject, comment):
    """Approve (or --reject) the submitted library CHECKSUM."""
    from app.engine.governance import letter_library  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            row = letter_library.decide(uow, _acting(uow, username), checksum,
                                        "rejected" if reject else "approved", comment)
            click.echo(f"config/letters.toml sha256 {row.checksum} {row.action} by {row.actor}")
    except DomainError as err:
        raise click.ClickException(err.message) from err


@letters_group.command("status")
def letters_status():
    """The library in use (checksum, signed off or not) and the review trail, newest first."""
    from app.engine.governance import letter_library  # noqa: PLC0415
    runtime = _runtime()
    with runtime.unit_of_work() as uow:
        state = letter_library.status(uow, SYSTEM)
    review = state["review"]
    click.echo(f"config/letters.toml sha256 {state['checksum']}: " + (
        f"{review['status']} by {review['reviewer']} at {_minute(review['at'])}" if review else "not signed off"))
    for entry in state["trail"]:
        click.echo(f"  {_minute(entry['at'])}  {entry['action']:<9}  {entry['actor']:<16}  {entry['checksum'][:12]}  "
                   f"{entry['comment'] or ''}".rstrip())
    if not state["signed_off"]:
        sys.exit(1)


@main.group("audit")
def audit_group():
    """The tamper-evident audit trail: seal events into the hash chain, sign checkpoints, verify."""


@audit_group.command("verify")
@click.option("--complaint", "complaint_id", type=click.IntRange(min=1), help="Verify this complaint's chain only.")
@click.option("--public-key", "public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The public key every checkpoint must be signed with (PEM, or base64 raw; see `audit public-key`).")
@click.option("--no-seal", is_flag=True, help="Verify as it is, without sealing the events committed since the "
                                              "sealer's last run first.")
def audit_verify(complaint_id, public_key, no_seal):
    """Recompute the global and the complaints' hash chains and check every signed checkpoint. Exit 0 when
    intact; exit 1 naming the first broken or missing entry (its sequence number, event id, chain, and what:
    edited, deleted, reordered, a checkpoint that does not match or verify, or events left unsealed)."""
    from app.engine import audit  # noqa: PLC0415
    from app.engine.audit.checkpoints import load_public_key  # noqa: PLC0415
    try:
        pinned = load_public_key(public_key) if public_key else None
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    runtime = _runtime()
    if not no_seal:
        audit.seal(runtime)
    with runtime.unit_of_work() as uow:
        result = audit.verify_trail(uow, complaint_id=complaint_id, pinned=pinned)
    if result.intact:
        click.echo(result.summary())
        if result.last_checkpoint is not None:
            c = result.last_checkpoint
            click.echo(f"last checkpoint: entry {c.chain_seq} at {_minute(c.created_at)}, key {c.key_id}")
        sys.exit(0)
    click.echo(result.summary(), err=True)
    for finding in result.findings[1:]:
        click.echo(f"also: {finding.message}", err=True)
    sys.exit(1)


@audit_group.command("seal")
@click.option("--checkpoint", is_flag=True, help="Sign a checkpoint at the end even if none is due yet.")
def audit_seal(checkpoint):
    """Seal the committed events not sealed yet into the chains (what the scheduler does every few seconds) and
    sign a checkpoint when one is due (config/audit.toml)."""
    from app.engine import audit  # noqa: PLC0415
    report = audit.seal(_runtime(), force_checkpoint=checkpoint)
    click.echo(report.summary())


@audit_group.command("checkpoint")
def audit_checkpoint():
    """Seal what is unsealed and sign a checkpoint of the chain's head now."""
    from app.engine import audit  # noqa: PLC0415
    report = audit.seal(_runtime(), force_checkpoint=True)
    click.echo(report.summary())


@audit_group.command("public-key")
def audit_public_key():
    """Print the public key checkpoints are signed with (PEM), to keep apart and pin with `verify --public-key`."""
    from app.engine.audit.checkpoints import public_key_pem, signing_key  # noqa: PLC0415
    click.echo(public_key_pem(signing_key(_runtime().settings.audit.key_file)), nl=False)


@main.group("retention")
def retention_group():
    """Record retention (config/retention.toml): anonymise closed complaints kept past their regime's period; put a
    complaint on legal hold and release it."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be anonymised; change nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Anonymise at most this many complaints.")
def retention_run(dry_run, limit):
    """Anonymise the personal data of every closed complaint whose retention period has passed (what the scheduler
    does daily), a batch per transaction; each case is audited (complaint_anonymised)."""
    from app.engine.complaints import retention  # noqa: PLC0415
    report = retention.run(_runtime(), SYSTEM, limit=limit, dry_run=dry_run)
    for case in report.due:
        click.echo(f"{case.tracking_number}  closed {_minute(case.closed_at)}, "
                   f"kept until {_minute(case.retained_until)}")
    for done in report.anonymised:
        click.echo(f"{done.tracking_number}  anonymised: " + ", ".join(f"{k} {v}" for k, v in done.counts.items()))
    click.echo(report.summary())


@retention_group.command("hold")
@click.argument("tracking_number")
@click.option("--reason", required=True, help="Why (the litigation, the regulator's inquiry); in the audit trail.")
def retention_hold(tracking_number, reason):
    """Put the complaint TRACKING_NUMBER on legal hold: it is never anonymised until released."""
    from app.engine.complaints import retention  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            complaint = retention.hold(uow, SYSTEM, tracking_number, reason)
            click.echo(f"{complaint.tracking_number} on legal hold since {_minute(complaint.legal_hold_at)}")
    except DomainError as err:
        raise click.ClickException(_domain_message(err)) from err


@retention_group.command("release")
@click.argument("tracking_number")
@click.option("--reason", required=True, help="Why the hold ends; in the audit trail.")
def retention_release(tracking_number, reason):
    """Release the legal hold of the complaint TRACKING_NUMBER: retention applies to it again."""
    from app.engine.complaints import retention  # noqa: PLC0415
    runtime = _runtime()
    try:
        with runtime.unit_of_work() as uow:
            complaint = retention.release(uow, SYSTEM, tracking_number, reason)
            click.echo(f"{complaint.tracking_number}: legal hold released")
    except DomainError as err:
        raise click.ClickException(_domain_message(err)) from err


def _domain_message(err: DomainError) -> str:
    """A refusal as one line; an invalid submission names its fields."""
    errors = getattr(err, "errors", None)
    if isinstance(errors, dict) and errors:
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
    return err.message


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host, port):
    """Serve the web app and API (development server; use gunicorn 'app.web:create_app()' in production)."""
    from app.web import create_app  # noqa: PLC0415
    create_app().run(host=host, port=port)


@main.command()
@click.option("--interval", default=30, show_default=True, type=int, help="Seconds between runs.")
def scheduler(interval):
    """Run the timer scheduler in the foreground: fire due timers every INTERVAL seconds."""
    from app.scheduler import run_forever  # noqa: PLC0415
    run_forever(_runtime(), interval, echo=click.echo)


@main.command("send-messages")
def send_messages():
    """Deliver the outbox once: every message that is due (SMTP from COMPLAINTFLOW_SMTP_URL, else .eml files in
    instance/outbox/; SMS to COMPLAINTFLOW_SMS_URL, else .txt files in instance/sms/; letters to a postal address
    into the print queue). Exit 1 if a message failed (it is retried later, or became an incident)."""
    from app.delivery import deliver_due, transport_from_environment  # noqa: PLC0415
    runtime = _runtime()
    transport = transport_from_environment()
    report = deliver_due(runtime, transport)
    click.echo(f"sent {report.sent} message(s) via {transport}; {report.to_post} to post, {report.failed} to retry, "
               f"{report.given_up} given up (incidents)")
    for error in report.errors:
        click.echo(error, err=True)
    sys.exit(1 if report.failed or report.given_up else 0)


@main.command("mail-in")
@click.option("--maildir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Read the new messages of this Maildir (moved to cur/ once taken in).")
@click.option("--mbox", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read this mbox file (left as it is).")
def mail_in(maildir, mbox):
    """Take in the complaints mailbox once: a new complaint becomes a "Complete registration" task, a customer's
    reply joins their case, auto-replies and bounces are recorded and ignored; each message once, however many
    readers run. Without --maildir or --mbox: the mailbox of config/mail_in.toml (an IMAP one included). Exit 1
    if a message could not be taken in (it stays unread for the next run)."""
    from app.intake import config, mailbox_for, read_mailbox  # noqa: PLC0415
    if maildir is not None and mbox is not None:
        raise click.UsageError("Give --maildir or --mbox, not both")
    runtime = _runtime()
    try:
        box = mailbox_for(maildir=maildir, mbox=mbox, settings=config.load(runtime.settings.config_dir))
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from err
    try:
        report = read_mailbox(runtime, box)
    finally:
        box.close()
    click.echo(report.summary())
    for error in report.errors:
        click.echo(error, err=True)
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
