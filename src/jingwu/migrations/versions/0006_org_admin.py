"""organisation administration: active flags (agencies, towns, units, alarm devices), unit travel mode

Revision ID: 0006
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0003
Create Date: 2026-12-01 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default='1', nullable=False))
    with op.batch_alter_table('towns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default='1', nullable=False))
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('travel_mode', sa.String(length=16), nullable=True))
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('travel_mode')
        batch_op.drop_column('active')
    with op.batch_alter_table('towns', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('active')
