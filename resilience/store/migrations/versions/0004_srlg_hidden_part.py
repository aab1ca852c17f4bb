"""shared-risk groups store their hidden part

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00

A shared-risk group's *hidden* part is the set of nodes of its blast radius that no single
element cuts off (the nodes that are not single-homed, see docs/metrics.md "Definitions").
``hidden_nodes`` counts them and ``hidden_subscribers`` sums their subscribers. The boolean
``hidden`` is kept (rows written before this revision stay readable); from this revision on it is
``hidden_nodes > 0``. Rows written before it get 0 and 0: their hidden part was not measured.
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshot_srlgs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_nodes', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('hidden_subscribers', sa.BigInteger(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('snapshot_srlgs', schema=None) as batch_op:
        batch_op.drop_column('hidden_subscribers')
        batch_op.drop_column('hidden_nodes')
