"""inventory sources, inventory change history, retryable quarantine

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

- ``nodes.source`` and ``links.source``: who defines the element (``feed:<operator>`` for CSV and
  JSON Lines inventory, ``graphml:<namespace>/<network>`` for a GraphML import). A delivery from
  another source may not silently redefine it (see docs/recovery.md). Rows stored before this
  revision get ``feed:<operator>`` (links: the operator of their end ``a``).
- ``inventory_changes``: one row per changed field of an existing node or link (ingest,
  ``resilience inventory set-kind``, quarantine retry), with the old and new value.
- ``quarantine``: the whole record (``record``, JSON of the row's fields) and which part of the
  file it came from (``row_kind``), so that ``resilience quarantine retry`` can run it through
  validation again; ``status`` (``open`` | ``resolved``), ``resolved_at``, ``resolution``,
  ``retries`` and ``retried_at`` keep the audit trail (a resolved row is never deleted). Rows
  quarantined before this revision have no record: they stay open until their file is
  re-ingested with ``resilience ingest --force``.
"""

import sqlalchemy as sa
from alembic import op

from resilience.store.tables import Timestamp

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=False, server_default=''))
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=False, server_default=''))
    op.execute("UPDATE nodes SET source = 'feed:' || operator")
    op.execute("UPDATE links SET source = COALESCE("
               "(SELECT 'feed:' || n.operator FROM nodes n WHERE n.node_id = links.a), '')")

    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('record', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='open'))
        batch_op.add_column(sa.Column('resolved_at', Timestamp(), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retries', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retried_at', Timestamp(), nullable=True))
        batch_op.create_index('ix_quarantine_status', ['status'], unique=False)

    op.create_table('inventory_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('element_type', sa.String(length=8), nullable=False),
    sa.Column('element_id', sa.String(length=128), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('changed_at', Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_changes'))
    )
    with op.batch_alter_table('inventory_changes', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_changes_element', ['element_type', 'element_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inventory_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_changes_element')
    op.drop_table('inventory_changes')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_status')
        for col in ('retried_at', 'retries', 'resolution', 'resolved_at', 'status', 'record', 'row_kind'):
            batch_op.drop_column(col)
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_column('source')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('source')
