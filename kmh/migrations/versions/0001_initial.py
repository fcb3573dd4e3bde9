"""Initial catalog: documents and their version history.

Revision ID: 0001
Revises:
Create Date: 2025-11-24

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DOC_TYPES = ("report", "knowledge_paper", "handbook", "news", "seminar_page", "recording", "other")
STATUSES = ("published", "retracted")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("programme", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passage_count", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("outline", sa.JSON(), nullable=False),
        sa.Column("original_path", sa.Text(), nullable=False),
        sa.CheckConstraint(_in("doc_type", DOC_TYPES), name=op.f("ck_documents_doc_type")),
        sa.CheckConstraint(_in("status", STATUSES), name=op.f("ck_documents_status")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_documents_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("sha256", name=op.f("uq_documents_sha256")),
    )
    op.create_index(op.f("ix_documents_source_key"), "documents", ["source_key"], unique=False)
    op.create_table(
        "document_versions",
        sa.Column("doc_id", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("original_path", sa.Text(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passage_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_doc_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doc_id", "version", name=op.f("pk_document_versions")),
    )


def downgrade() -> None:
    op.drop_table("document_versions")
    op.drop_index(op.f("ix_documents_source_key"), table_name="documents")
    op.drop_table("documents")
