"""Trade-off jobs: jobs.result (a front's or alternatives' summary), plan_versions.solution_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("result", sa.Text(), nullable=True))
    # batch mode: SQLite cannot add a foreign key to an existing table in place
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("solution_id", sa.String(32), nullable=True))
        batch.create_foreign_key(
            "fk_plan_versions_solution_id", "solutions", ["solution_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_versions") as batch:
        batch.drop_constraint("fk_plan_versions_solution_id", type_="foreignkey")
        batch.drop_column("solution_id")
    op.drop_column("jobs", "result")
