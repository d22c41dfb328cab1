"""mqtt: alarm-device profile (signs its messages, payload format), ADR 0025

Revision ID: 0010
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0009
Create Date: 2026-12-02 01:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # devices registered before this release did not sign: they stay trusted by their broker account only
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signs', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('payload_format', sa.String(length=8), server_default='json', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.drop_column('payload_format')
        batch_op.drop_column('signs')
