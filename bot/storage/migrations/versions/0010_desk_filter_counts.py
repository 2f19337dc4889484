"""desk filter counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 21:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.create_index(
            'ix_help_requests_commune_urgency_status',
            ['commune_code', 'urgency', 'status'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('help_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_help_requests_commune_urgency_status')
