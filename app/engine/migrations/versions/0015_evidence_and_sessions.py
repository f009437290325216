"""a tamper-evident audit trail (hash chains, signed checkpoints); sessions kept server-side

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Audit trail. Every audit event is sealed into two hash chains: the global one (``chain_seq``: 1, 2, 3 ... with
no gap; ``chain_hash`` = sha256 over the previous event's ``chain_hash`` and this event's canonical content) and
its complaint's (``complaint_seq``, ``complaint_hash``, the same over the complaint's own events). A checkpoint
(``audit_checkpoints``) signs the global chain's head at an interval with the installation's Ed25519 key, so a
rewrite of the whole chain after a checkpoint is detectable too. Nullable: rows written before this revision
are sealed by the sealer on its first run (in id order), like any event not sealed yet.

Sessions. A browser session is a row (``user_sessions``): the cookie carries only the session's random id, the
row its user, when it began, when it was last used and when it ended (sign-out, sign-out everywhere, a password
change, idle or absolute expiry). The id is stored as its sha256, so a copy of the table gives no cookie.

Sign-in limits. ``rate_limit_counters`` holds the failed sign-in attempts per account and per address for every
worker and node when no Redis is configured (the sign-in throttle's ``database://`` storage).
"""
import sqlalchemy as sa
from alembic import op

import app.engine.models.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('complaint_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('complaint_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_audit_events_chain_seq', ['chain_seq'], unique=True)
        batch_op.create_index('ix_audit_events_complaint_seq', ['complaint_id', 'complaint_seq'], unique=True)
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chain_seq', sa.BigInteger(), nullable=False),        # the last event it covers
        sa.Column('chain_hash', sa.String(length=64), nullable=False),  # the chain's hash at that event
        sa.Column('created_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('key_id', sa.String(length=64), nullable=False),      # sha256 of the public key, hex
        sa.Column('public_key', sa.Text(), nullable=False),             # base64 raw Ed25519 public key
        sa.Column('signature', sa.Text(), nullable=False),              # base64 Ed25519 signature
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('chain_seq'),
    )
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),  # sha256 of the cookie's session id
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=False),  # absolute lifetime
        sa.Column('ended_at', app.engine.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column('ended_reason', sa.String(length=40), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_user_sessions_user_id_ended_at', ['user_id', 'ended_at'])
    # Failed sign-in attempts, counted for every worker and node (app/web/throttle.py, the database:// storage).
    op.create_table(
        'rate_limit_counters',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=False),     # microseconds since the epoch
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),       # microseconds since the epoch
        sa.PrimaryKeyConstraint('key', 'window_start', name='pk_rate_limit_counters'),
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_counters_expires_at', ['expires_at'])


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_counters_expires_at')
    op.drop_table('rate_limit_counters')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_user_sessions_user_id_ended_at')
    op.drop_table('user_sessions')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_complaint_seq')
        batch_op.drop_index('ix_audit_events_chain_seq')
        batch_op.drop_column('complaint_hash')
        batch_op.drop_column('complaint_seq')
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('chain_seq')
