"""a covering index for the supervisors' reports: they read every request filed in the last 14
or 30 days, and without it SQLite took each one through the queue's (status, urgency,
created_at) index and then the wide table row (100,000 random row reads for one report)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 16:30:00.000000
"""

from __future__ import annotations

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_help_requests_reports',
        'help_requests',
        [
            'created_at',
            'commune_code',
            'urgency',
            'first_response_at',
            'closed_at',
            'clock_started_at',
            'version',
        ],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_help_requests_reports', table_name='help_requests')
