"""process leases; claims on messages; the Zalo OA refresh claim

Several processes on one database: a message is sent or answered under the lease of the
process that claimed it, and one process at a time spends the Zalo OA refresh token.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 03:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_leases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_leases'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
    with op.batch_alter_table('channel_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'refresh_claimed_until', bot.storage.base.UTCDateTime(timezone=True), nullable=True
        ))


def downgrade() -> None:
    with op.batch_alter_table('channel_tokens', schema=None) as batch_op:
        batch_op.drop_column('refresh_claimed_until')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
    op.drop_table('process_leases')
