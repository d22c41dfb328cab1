"""calls: location status, imported calls, officer-initiated flag, disposition, incident transfers

Revision ID: 0007
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0003
Create Date: 2026-12-01 08:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_status', sa.String(length=16), server_default='located',
                                      nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='live', nullable=False))
        batch_op.add_column(sa.Column('external_ref', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('officer_initiated', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disposition', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_incidents_location_status'), ['location_status'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_incidents_external_ref'), ['external_ref'])
    # incidents stored before: placed when they were snapped, else waiting for a location
    op.execute("UPDATE incidents SET location_status = 'unlocated' WHERE snapped_lon IS NULL")
    op.create_table('incident_transfers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('target_agency_id', sa.String(length=36), nullable=True),
    sa.Column('target_name', sa.String(length=200), nullable=True),
    sa.Column('target_phone', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('outcome_by', sa.String(length=200), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                            name=op.f('fk_incident_transfers_incident_id_incidents')),
    sa.ForeignKeyConstraint(['target_agency_id'], ['agencies.id'],
                            name=op.f('fk_incident_transfers_target_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_transfers'))
    )
    with op.batch_alter_table('incident_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_transfers_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_transfers_incident_id'))
    op.drop_table('incident_transfers')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_incidents_external_ref'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_incidents_location_status'))
        batch_op.drop_column('disposition')
        batch_op.drop_column('officer_initiated')
        batch_op.drop_column('external_ref')
        batch_op.drop_column('source')
        batch_op.drop_column('location_status')
