"""e-mail intake: the messages read from a mailbox, each once

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08

``inbound_messages`` holds each e-mail taken in (app/engine/intake/mail.py): its Message-ID (or the digest of its
bytes) unique, so two readers of one mailbox take each message in once; what became of it (an intake task, a
reply threaded to a case, ignored as an auto-reply or a bounce); the sender, subject and text (personal data,
replaced by retention). Downgrade drops the table (the record of what was read is lost: a mailbox read again
would be taken in again).
"""
import sqlalchemy as sa
from alembic import op

from app.engine.models.base import JsonType, UtcDateTime

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbound_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_key', sa.String(length=300), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=True),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('sender', sa.String(length=300), nullable=False),
        sa.Column('sender_name', sa.String(length=200), nullable=True),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('thread_ids', JsonType, nullable=False),
        sa.Column('sent_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('complaint_id', sa.Integer(), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('held_files', JsonType, nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_inbound_messages_complaint_id_complaints')),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                                name=op.f('fk_inbound_messages_instance_id_process_instances')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
        sa.UniqueConstraint('message_key', name=op.f('uq_inbound_messages_message_key')),
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_messages_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_instance_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_messages_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_messages_message_id'))
    op.drop_table('inbound_messages')
