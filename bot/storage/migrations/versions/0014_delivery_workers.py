"""delivery workers: heartbeats and each channel's shared send pace

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 02:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_channel_pace',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('next_slot_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_alert_channel_pace'))
    )
    op.create_table('alert_workers',
    sa.Column('worker_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_alert_workers'))
    )


def downgrade() -> None:
    op.drop_table('alert_workers')
    op.drop_table('alert_channel_pace')
