"""shift: unit crews, refused positions, assignment routes and arrival flags, stand-down reasons, call handling

Revision ID: 0008
(File names follow the order migrations apply; revision ids never change once released.)
Revises: 0007
Create Date: 2026-12-01 11:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('human_touched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handling', sa.String(length=16), nullable=True))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_geojson', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('route_metres', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('travel_mode', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('arrival_flags', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('stand_down_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('stood_down_by', sa.String(length=200), nullable=True))
    op.create_table('unit_crews',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('unit_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('signed_on_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_off_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_crews_unit_id_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_unit_crews_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_crews'))
    )
    with op.batch_alter_table('unit_crews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_crews_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_crews_user_id'), ['user_id'], unique=False)
    op.create_table('position_rejects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_rejects'))
    )
    with op.batch_alter_table('position_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_position_rejects_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_rejects_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('position_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_position_rejects_received_at'))
        batch_op.drop_index(batch_op.f('ix_position_rejects_unit_id'))
    op.drop_table('position_rejects')
    with op.batch_alter_table('unit_crews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_crews_user_id'))
        batch_op.drop_index(batch_op.f('ix_unit_crews_unit_id'))
    op.drop_table('unit_crews')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        for col in ('stood_down_by', 'stand_down_reason', 'arrival_flags', 'travel_mode', 'route_metres',
                    'route_geojson'):
            batch_op.drop_column(col)
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('handling')
        batch_op.drop_column('human_touched_at')
