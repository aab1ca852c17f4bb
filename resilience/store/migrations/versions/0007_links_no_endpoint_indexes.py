"""links lose the indexes on their endpoints a and b

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 17:30:00

No query looks links up by an endpoint: the model reads the whole table, and every reference
check goes the other way (a link's end to ``nodes.node_id``, the nodes' key). The two indexes
were only written: two entries per link on every inventory update, and 0.7-0.9 s of index
building in a first load of 1.39M links on SQLite. A downgrade builds them again.
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index('ix_links_b')
        batch_op.drop_index('ix_links_a')


def downgrade() -> None:
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index('ix_links_a', ['a'], unique=False)
        batch_op.create_index('ix_links_b', ['b'], unique=False)
