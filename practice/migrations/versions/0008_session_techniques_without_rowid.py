"""session_techniques as a WITHOUT ROWID table on SQLite (one b-tree per link, not two)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 02:10:00

A rowid table with a composite primary key stores every link twice: in the table (by rowid)
and in the primary key's own index. WITHOUT ROWID stores it once, in primary-key order. The
table is rebuilt in place on SQLite, every row copied; PostgreSQL has no rowid: nothing to do.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _rebuild(*, with_rowid: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.drop_index('ix_session_techniques_technique', table_name='session_techniques')
    op.rename_table('session_techniques', '_session_techniques_old')
    op.create_table('session_techniques',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('technique_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['technique_id'], ['techniques.id'], ),
    sa.PrimaryKeyConstraint('session_id', 'technique_id'),
    sqlite_with_rowid=with_rowid,
    )
    op.execute(
        'INSERT INTO session_techniques (session_id, technique_id) '
        'SELECT session_id, technique_id FROM _session_techniques_old '
        'ORDER BY session_id, technique_id'
    )
    op.drop_table('_session_techniques_old')
    op.create_index('ix_session_techniques_technique', 'session_techniques', ['technique_id'])


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
