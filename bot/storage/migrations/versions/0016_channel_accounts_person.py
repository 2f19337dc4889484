"""an index on channel_accounts.person_id: each delivery claim and each audience count looked
up people's accounts by a full scan (100,000 accounts read per claim of 32 deliveries)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 14:20:00.000000
"""

from __future__ import annotations

from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_channel_accounts_person_id', 'channel_accounts', ['person_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_channel_accounts_person_id', table_name='channel_accounts')
