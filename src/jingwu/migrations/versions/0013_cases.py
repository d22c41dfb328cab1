"""cases: lifecycle, parties, access codes (hashed), registers, decisions, interference register, ADR 0028

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:45:12.259801
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counters',
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_case_counters_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', 'year', name=op.f('pk_case_counters'))
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('track', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=64), nullable=True),
    sa.Column('incident_timeline', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_cases_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_incident_id'), ['incident_id'], unique=False)

    op.create_table('case_accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('bank', sa.String(length=120), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('masked', sa.String(length=40), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('holder_party_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_accounts_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_accounts'))
    )
    with op.batch_alter_table('case_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_accounts_case_id'), ['case_id'], unique=False)

    op.create_table('case_assignments',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('duty', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_assignments_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', 'username', name=op.f('pk_case_assignments'))
    )
    op.create_table('case_decisions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('public_html', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_decisions_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_decisions')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_decisions_case_id'))
    )
    op.create_table('case_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('case_interference',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('user_agency_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('audit_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_interference_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_interference'))
    )
    with op.batch_alter_table('case_interference', schema=None) as batch_op:
        batch_op.create_index('ix_case_interference_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_interference_case_id'), ['case_id'], unique=False)

    op.create_table('case_parties',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('id_number', sa.String(length=32), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('contact', sa.String(length=8), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('related_party_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_parties_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_parties'))
    )
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_parties_case_id'), ['case_id'], unique=False)

    op.create_table('case_property',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('description', sa.String(length=400), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('owner_party_id', sa.String(length=36), nullable=True),
    sa.Column('storage_place', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('seized_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_property_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_property'))
    )
    with op.batch_alter_table('case_property', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_property_case_id'), ['case_id'], unique=False)

    op.create_table('case_register_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('register', sa.String(length=16), nullable=False),
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('storage_place', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_register_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_register_events'))
    )
    with op.batch_alter_table('case_register_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_register_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_register_events_item_id'), ['item_id'], unique=False)

    op.create_table('case_reminders',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_reminders_case_id_cases')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_case_reminders')),
    sa.UniqueConstraint('case_id', 'key', name='uq_case_reminders_case_key')
    )
    with op.batch_alter_table('case_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_reminders_case_id'), ['case_id'], unique=False)

    op.create_table('case_transitions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_transitions_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transitions'))
    )
    with op.batch_alter_table('case_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_transitions_case_id'), ['case_id'], unique=False)

    op.create_table('case_access_codes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('party_id', sa.String(length=36), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_access_codes_case_id_cases')),
    sa.ForeignKeyConstraint(['party_id'], ['case_parties.id'], name=op.f('fk_case_access_codes_party_id_case_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_access_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_case_access_codes_code_hash'))
    )
    with op.batch_alter_table('case_access_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_access_codes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_access_codes_party_id'), ['party_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_access_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_access_codes_party_id'))
        batch_op.drop_index(batch_op.f('ix_case_access_codes_case_id'))

    op.drop_table('case_access_codes')
    with op.batch_alter_table('case_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_transitions_case_id'))

    op.drop_table('case_transitions')
    with op.batch_alter_table('case_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_reminders_case_id'))

    op.drop_table('case_reminders')
    with op.batch_alter_table('case_register_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_register_events_item_id'))
        batch_op.drop_index(batch_op.f('ix_case_register_events_case_id'))

    op.drop_table('case_register_events')
    with op.batch_alter_table('case_property', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_property_case_id'))

    op.drop_table('case_property')
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_parties_case_id'))

    op.drop_table('case_parties')
    with op.batch_alter_table('case_interference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_interference_case_id'))
        batch_op.drop_index('ix_case_interference_at')

    op.drop_table('case_interference')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    op.drop_table('case_decisions')
    op.drop_table('case_assignments')
    with op.batch_alter_table('case_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_accounts_case_id'))

    op.drop_table('case_accounts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_incident_id'))
        batch_op.drop_index(batch_op.f('ix_cases_agency_id'))

    op.drop_table('cases')
    op.drop_table('case_counters')
