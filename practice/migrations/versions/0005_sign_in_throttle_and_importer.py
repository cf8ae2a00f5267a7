"""sign-in throttling instead of lockout; who made each import

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 11:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('name_key', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_name', ['name_key', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_failures_address', ['address', 'at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('failed_attempts')
        batch_op.drop_column('locked_until')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_column('imported_by')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0')
        )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_address')
        batch_op.drop_index('ix_sign_in_failures_name')
    op.drop_table('sign_in_failures')
