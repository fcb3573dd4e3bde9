"""Language editions: documents that are editions of one publication share a ``publication_id`` (the id of the
edition the group started from); ``edition_of`` keeps the file name a sidecar named as another edition, so that a
file ingested later is linked when it arrives. Both NULL for a document without editions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("publication_id", sa.String(length=12), nullable=True))
    op.add_column("documents", sa.Column("edition_of", sa.Text(), nullable=True))
    op.create_index("ix_documents_publication_id", "documents", ["publication_id"], unique=False)


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy of the table would lose its generation triggers
    op.drop_index("ix_documents_publication_id", table_name="documents")
    op.drop_column("documents", "edition_of")
    op.drop_column("documents", "publication_id")
