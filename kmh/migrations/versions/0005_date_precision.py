"""Publication date precision: "2019-09" is kept as 2019-09-01 plus "month", so it is shown as September 2019.

NULL (the rows before this revision) means the day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("published_precision", sa.String(length=5), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite >= 3.35): a batch copy of the table would lose its generation triggers
    op.drop_column("documents", "published_precision")
