"""the day summaries: site_day, group_day, group_hour

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_day",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("one_stop", sa.Integer(), nullable=False),
        sa.Column("multi_department", sa.Integer(), nullable=False),
        sa.Column("wait_median_min", sa.Float(), nullable=True),
        sa.Column("wait_mean_min", sa.Float(), nullable=True),
        sa.Column("stay_median_min", sa.Float(), nullable=True),
        sa.Column("within_target_share", sa.Float(), nullable=True),
        sa.Column("surveys", sa.Integer(), nullable=False),
        sa.Column("satisfaction_share", sa.Float(), nullable=True),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("cashless_share", sa.Float(), nullable=True),
        sa.Column("guide_uses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_day")),
        sa.UniqueConstraint("site", "day", name=op.f("uq_site_day_site")),
    )
    op.create_index("ix_site_day_site_weekday_day", "site_day", ["site", "weekday", "day"], unique=False)
    op.create_table(
        "group_day",
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("wait_median_min", sa.Float(), nullable=True),
        sa.Column("wait_mean_min", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["day_id"], ["site_day.id"], name=op.f("fk_group_day_day_id_site_day"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day_id", "group_id", name=op.f("pk_group_day")),
    )
    op.create_table(
        "group_hour",
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("mean_wait_min", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["day_id"], ["site_day.id"], name=op.f("fk_group_hour_day_id_site_day"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day_id", "group_id", "hour", name=op.f("pk_group_hour")),
    )


def downgrade() -> None:
    op.drop_table("group_hour")
    op.drop_table("group_day")
    op.drop_index("ix_site_day_site_weekday_day", table_name="site_day")
    op.drop_table("site_day")
