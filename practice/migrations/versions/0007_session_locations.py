"""a session's location (the clinic of a chain); users limited to locations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=200), nullable=True))
    op.create_table(
        'user_locations',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'location'),
    )


def downgrade() -> None:
    op.drop_table('user_locations')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('location')
