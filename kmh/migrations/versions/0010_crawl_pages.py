"""Website import: what the last crawl found at each URL (crawl_pages), and crawls as a kind of job.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "crawl_pages",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("doc_id", sa.String(length=12), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('ok', 'gone', 'error')", name=op.f("ck_crawl_pages_status")),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_crawl_pages")),
    )
    op.create_index("ix_crawl_pages_site", "crawl_pages", ["site"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint("kind", "kind IN ('publish', 'new_version', 'crawl')")


def downgrade() -> None:
    op.execute("DELETE FROM jobs WHERE kind = 'crawl'")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_kind"), type_="check")
        batch_op.create_check_constraint("kind", "kind IN ('publish', 'new_version')")
    op.drop_index("ix_crawl_pages_site", table_name="crawl_pages")
    op.drop_table("crawl_pages")
