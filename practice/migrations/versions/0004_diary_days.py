"""headache diary days, and the diary counts of an import

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diary_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('diary_date', sa.Date(), nullable=False),
    sa.Column('headache', sa.Boolean(), nullable=False),
    sa.Column('severity', sa.Float(), nullable=True),
    sa.Column('pain', sa.Float(), nullable=True),
    sa.Column('medication', sa.Float(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('updated_import_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], ),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], ),
    sa.ForeignKeyConstraint(['updated_import_id'], ['imports.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'diary_date', name='uq_diary_day')
    )
    with op.batch_alter_table('diary_days', schema=None) as batch_op:
        batch_op.create_index('ix_diary_days_import', ['import_id'], unique=False)
    # Existing imports brought no diary days: the new counts start at 0.
    with op.batch_alter_table('imports', schema=None) as batch_op:
        for name in ('diary_days_added', 'diary_days_updated', 'diary_days_unchanged'):
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('imports', schema=None) as batch_op:
        for name in ('diary_days_unchanged', 'diary_days_updated', 'diary_days_added'):
            batch_op.drop_column(name)
    with op.batch_alter_table('diary_days', schema=None) as batch_op:
        batch_op.drop_index('ix_diary_days_import')
    op.drop_table('diary_days')
