"""Passage checks: what each catalogued passage was written with (a sketch of its dense vector, a digest of its
text), so that `kmh check` can tell a damaged index from a sound one. Written in the transaction that switches a
document's version; stores made before this revision have none ("unverified" until `kmh check --repair`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "passage_checks",
        sa.Column("passage_id", sa.String(length=36), nullable=False),
        sa.Column("doc_id", sa.String(length=12), nullable=False),
        sa.Column("doc_version", sa.Integer(), nullable=False),
        sa.Column("dense", sa.String(length=96), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.id"], name=op.f("fk_passage_checks_doc_id_documents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("passage_id", name=op.f("pk_passage_checks")),
    )
    op.create_index("ix_passage_checks_doc", "passage_checks", ["doc_id", "doc_version"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_passage_checks_doc", table_name="passage_checks")
    op.drop_table("passage_checks")
