"""snapshot elements stored once for the snapshots they stay the same in

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:30:00

``snapshot_elements.until_snapshot_id``: a row belongs to every snapshot ``sid`` with
``snapshot_id <= sid`` and (``until_snapshot_id`` NULL or ``> sid``), so a single point of failure
that did not change is not written again (a 1% status update changes ~3% of the rows). Rows stored
before this revision were full copies per snapshot: they get ``snapshot_id + 1`` (their own
snapshot only), and the first write after it stores every row again. The index on
``(snapshot_id, subscribers_lost)`` gives way to ``(until_snapshot_id, subscribers_lost)`` (the
exporter's largest blast radii of the newest snapshot, the pruning) and
``(element_type, element_id, until_snapshot_id)`` (closing the open rows a write changes).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshot_elements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('until_snapshot_id', sa.Integer(), nullable=True))
    op.execute("UPDATE snapshot_elements SET until_snapshot_id = snapshot_id + 1")
    with op.batch_alter_table('snapshot_elements', schema=None) as batch_op:
        batch_op.drop_index('ix_snapshot_elements_snap_subs')
        batch_op.create_index('ix_snapshot_elements_until_subs', ['until_snapshot_id', 'subscribers_lost'],
                              unique=False)
        batch_op.create_index('ix_snapshot_elements_key', ['element_type', 'element_id', 'until_snapshot_id'],
                              unique=False)


def downgrade() -> None:
    # every snapshot gets its full copy of rows again
    op.execute(
        "INSERT INTO snapshot_elements (snapshot_id, element_type, element_id, nodes_lost, "
        "subscribers_lost, kind, operator, prefecture, municipality) "
        "SELECT s.id, e.element_type, e.element_id, e.nodes_lost, e.subscribers_lost, e.kind, "
        "e.operator, e.prefecture, e.municipality FROM snapshot_elements e JOIN snapshots s "
        "ON s.id > e.snapshot_id AND (e.until_snapshot_id IS NULL OR e.until_snapshot_id > s.id)")
    op.execute("DELETE FROM snapshot_elements WHERE snapshot_id NOT IN (SELECT id FROM snapshots)")
    with op.batch_alter_table('snapshot_elements', schema=None) as batch_op:
        batch_op.drop_index('ix_snapshot_elements_key')
        batch_op.drop_index('ix_snapshot_elements_until_subs')
        batch_op.create_index('ix_snapshot_elements_snap_subs', ['snapshot_id', 'subscribers_lost'],
                              unique=False)
        batch_op.drop_column('until_snapshot_id')
