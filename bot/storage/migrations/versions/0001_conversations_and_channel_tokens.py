"""conversations and channel tokens

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 00:48:31.621938
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_tokens',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=False),
    sa.Column('expires_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_channel_tokens'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_table('channel_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('last_inbound_at', bot.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_channel_accounts_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_accounts')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_channel_accounts_channel_external_id'))
    )
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('channel_message_id', sa.String(length=128), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('reply_to_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_messages_direction')),
    sa.CheckConstraint("status IN ('received', 'answered', 'pending', 'ignored', 'queued', 'sending', 'sent', 'uncertain', 'failed')", name=op.f('ck_messages_status')),
    sa.ForeignKeyConstraint(['account_id'], ['channel_accounts.id'], name=op.f('fk_messages_account_id_channel_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reply_to_id'], ['messages.id'], name=op.f('fk_messages_reply_to_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('account_id', 'direction', 'channel_message_id', name=op.f('uq_messages_account_id_direction_channel_message_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_direction_status_id', ['direction', 'status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_direction_status_id')
        batch_op.drop_index('ix_messages_account_id_id')

    op.drop_table('messages')
    op.drop_table('channel_accounts')
    op.drop_table('people')
    op.drop_table('channel_tokens')
