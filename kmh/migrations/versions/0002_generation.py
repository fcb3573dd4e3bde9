"""Catalog generation: a counter that every change to the documents table increases.

Searchers cache document versions and titles and keep them while the counter stays the same.
Triggers bump it, so that every writer (this code, another process, plain SQL) is seen.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_EVENTS = ("insert", "update", "delete")


def upgrade() -> None:
    op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalog_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
    )
    op.execute("INSERT INTO catalog_state (id, generation) VALUES (1, 0)")
    bump = "UPDATE catalog_state SET generation = generation + 1 WHERE id = 1"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION kmh_bump_generation() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {bump}; RETURN NULL; END $$"
        )
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER documents_generation_{event} AFTER {event.upper()} ON documents "
                "FOR EACH STATEMENT EXECUTE FUNCTION kmh_bump_generation()"
            )
    else:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER documents_generation_{event} AFTER {event.upper()} ON documents "
                f"BEGIN {bump}; END"
            )


def downgrade() -> None:
    for event in _EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS documents_generation_{event}" +
                   (" ON documents" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS kmh_bump_generation()")
    op.drop_table("catalog_state")
