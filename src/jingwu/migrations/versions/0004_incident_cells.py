"""incident grid cells for the duplicate search

Revision ID: 0003
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0002
Create Date: 2026-11-23 09:40:00
"""
from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

CELL_DEG = 0.005  # jingwu.dispatch.domain.CELL_DEG at the time of this migration


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cell', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_incidents_cell_received_at', ['cell', 'received_at'], unique=False)
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT seq, lon, lat FROM incidents WHERE lon IS NOT NULL AND lat IS NOT NULL"))
    updates = [{"seq": seq, "cell": math.floor(lat / CELL_DEG) * 100_000 + math.floor(lon / CELL_DEG)}
               for seq, lon, lat in rows]
    if updates:
        conn.execute(sa.text("UPDATE incidents SET cell = :cell WHERE seq = :seq"), updates)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_cell_received_at')
        batch_op.drop_column('cell')
