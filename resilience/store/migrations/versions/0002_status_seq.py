"""status change sequence: seq on the current-state tables, one-row counter status_seq

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:40:49.829123

Every status ingest takes the next value of ``status_seq`` and stamps it on the current-state
rows it writes. Rows stored before this revision get ``seq = 0`` and the counter starts at 0:
a reader gets them with a full read (``load_state``, or ``load_state_changes(conn, -1)``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    status_seq = op.create_table('status_seq',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_seq'))
    )
    op.bulk_insert(status_seq, [{'id': 1, 'value': 0}])

    # ADD COLUMN ... NOT NULL DEFAULT 0: no table rewrite on SQLite or PostgreSQL (11+).
    with op.batch_alter_table('link_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_link_status_seq'), ['seq'], unique=False)

    with op.batch_alter_table('node_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_node_status_seq'), ['seq'], unique=False)

    with op.batch_alter_table('power_status', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_power_status_seq'), ['seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('power_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_power_status_seq'))
        batch_op.drop_column('seq')

    with op.batch_alter_table('node_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_status_seq'))
        batch_op.drop_column('seq')

    with op.batch_alter_table('link_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_status_seq'))
        batch_op.drop_column('seq')

    op.drop_table('status_seq')
