"""staff login failures for usernames without an account (the same lock-out for both)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 05:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.storage.base


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_login_failures',
    sa.Column('name_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', bot.storage.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_at', bot.storage.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name_hash', name=op.f('pk_staff_login_failures'))
    )
    op.create_index('ix_staff_login_failures_last_at', 'staff_login_failures', ['last_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_login_failures_last_at', table_name='staff_login_failures')
    op.drop_table('staff_login_failures')
