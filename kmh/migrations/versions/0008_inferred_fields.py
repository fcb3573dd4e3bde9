"""Which metadata fields were inferred from the file (no sidecar or upload gave them): a JSON list of field names.

The rows before this revision get NULL: nobody kept track of which of their fields were inferred (nothing is marked,
and their next version takes what the file says).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("inferred", sa.JSON(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite >= 3.35): a batch copy of the table would lose its generation triggers
    op.drop_column("documents", "inferred")
