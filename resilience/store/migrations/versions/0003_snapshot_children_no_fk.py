"""snapshot child tables without foreign keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:40:00

The rows of ``snapshot_elements``, ``snapshot_srlgs``, ``snapshot_nodes_out`` and
``snapshot_aggregates`` are written only in the transaction that inserts their ``snapshots`` row
and deleted (children first) only by the pruning of :func:`resilience.store.snapshots.write_snapshot`.
The foreign keys added a per-row check to every bulk write: 2.3 s of the 3 s it took PostgreSQL
to store the 777k single points of failure of a 1M-site snapshot.
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_CHILDREN = ('snapshot_aggregates', 'snapshot_elements', 'snapshot_nodes_out', 'snapshot_srlgs')


def upgrade() -> None:
    for table in _CHILDREN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'fk_{table}_snapshot_id_snapshots'), type_='foreignkey')


def downgrade() -> None:
    for table in _CHILDREN:  # SQLite cannot add a constraint in place: the table is copied
        with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
            batch_op.create_foreign_key(op.f(f'fk_{table}_snapshot_id_snapshots'), 'snapshots',
                                        ['snapshot_id'], ['id'], ondelete='CASCADE')
