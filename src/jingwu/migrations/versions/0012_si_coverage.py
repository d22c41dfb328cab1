"""safety index coverage: explicit no-data rows (state; score, band, rank, sub-indices and rate
nullable), each town's first/last day with records, the ranges imports and the live intake cover (ADR 0027)

Revision ID: 0012
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0011
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_NULLABLE = ('score', 'band', 'rank', 's_order', 's_fire', 's_traffic', 's_drugs', 's_fraud', 'total_rate')


def _type(name: str) -> sa.types.TypeEngine:
    return sa.String(length=16) if name == 'band' else sa.Integer() if name == 'rank' else sa.Float()


def upgrade() -> None:
    # the aggregate of every computation reads this index alone, in its order (no table lookups, no sort)
    with op.batch_alter_table('si_incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_si_incidents_day_town')
        batch_op.create_index('ix_si_incidents_cover', ['day', 'town_id', 'type_code', 'category', 'deaths',
                                                        'injuries'], unique=False)
    with op.batch_alter_table('si_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=16), server_default='scored', nullable=False))
        for name in _NULLABLE:
            batch_op.alter_column(name, existing_type=_type(name), nullable=True)
    op.create_table('si_town_coverage',
    sa.Column('town_id', sa.String(length=36), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('town_id', name=op.f('pk_si_town_coverage'))
    )
    op.create_table('si_coverage',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_si_coverage'))
    )
    # the towns' own histories from the facts already stored
    op.execute("INSERT INTO si_town_coverage (town_id, first_day, last_day) "
               "SELECT town_id, MIN(day), MAX(day) FROM si_incidents WHERE town_id IS NOT NULL GROUP BY town_id")


def downgrade() -> None:
    op.drop_table('si_coverage')
    op.drop_table('si_town_coverage')
    op.execute("DELETE FROM si_scores WHERE state <> 'scored'")
    with op.batch_alter_table('si_scores', schema=None) as batch_op:
        for name in _NULLABLE:
            batch_op.alter_column(name, existing_type=_type(name), nullable=False)
        batch_op.drop_column('state')
    with op.batch_alter_table('si_incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_si_incidents_cover')
        batch_op.create_index('ix_si_incidents_day_town', ['day', 'town_id'], unique=False)
