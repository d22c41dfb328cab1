"""deployment configuration (served road network, time zone)

Revision ID: 0005
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0003
Create Date: 2026-12-01 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_config',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_deployment_config'))
    )


def downgrade() -> None:
    op.drop_table('deployment_config')
