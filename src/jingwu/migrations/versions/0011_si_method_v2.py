"""safety index method v2: the method version and the band/warning note on each score row, ADR 0026

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows computed before this release carry no version (they were computed with v1)
    with op.batch_alter_table('si_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method_version', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('note', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('si_scores', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('method_version')
