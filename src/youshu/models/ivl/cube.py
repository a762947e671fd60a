"""The IVL cube (cell sizes, AUM share, playbook action) and transitions between two as-of dates."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pandas as pd

from youshu.errors import YoushuError
from youshu.models.ivl.config import PlaybookEntry
from youshu.models.ivl.lifecycle import STAGE_ZH

__all__ = ["LEVELS", "action_for", "ivl_cube", "transitions"]

LEVELS = ("高", "中", "低")


def action_for(playbook: Sequence[PlaybookEntry], intimacy: str, value: str, stage_zh: str) -> str:
    """The action of the first playbook rule matching the cell ("*" matches anything)."""
    for rule in playbook:
        if (
            rule.intimacy in ("*", intimacy)
            and rule.value in ("*", value)
            and rule.lifecycle in ("*", stage_zh)
        ):
            return rule.action
    raise YoushuError(
        f"no playbook rule matches {intimacy}亲密·{value}潜力·{stage_zh}: add a catch-all rule "
        '{intimacy: "*", value: "*", lifecycle: "*"} at the end of definitions/ivl/playbook.yml'
    )


def ivl_cube(portrait: pd.DataFrame, playbook: Sequence[PlaybookEntry]) -> pd.DataFrame:
    """Every cell intimacy level × value level × lifecycle stage (3 × 3 × 5 = 45), empty cells included.

    Returns
    -------
    pandas.DataFrame
        ``intimacy_level``, ``value_level``, ``lifecycle_stage_zh``, ``customers``, ``customer_share``,
        ``aum_fen``, ``aum_share`` and ``action`` (from the playbook).
    """
    grouped = portrait.groupby(["intimacy_level", "value_level", "lifecycle_stage_zh"]).agg(
        customers=("customer_id", "size"), aum_fen=("aum_fen", "sum")
    )
    cells = pd.MultiIndex.from_tuples(
        list(itertools.product(LEVELS, LEVELS, STAGE_ZH.values())),
        names=["intimacy_level", "value_level", "lifecycle_stage_zh"],
    )
    cube = grouped.reindex(cells, fill_value=0).reset_index()
    total_aum = float(cube["aum_fen"].sum())
    cube["customer_share"] = cube["customers"] / max(len(portrait), 1)
    cube["aum_share"] = cube["aum_fen"] / total_aum if total_aum > 0 else 0.0
    cube["action"] = [
        action_for(playbook, i, v, s)
        for i, v, s in cube[["intimacy_level", "value_level", "lifecycle_stage_zh"]].itertuples(index=False)
    ]
    return cube


def transitions(before: pd.DataFrame, after: pd.DataFrame, column: str) -> pd.DataFrame:
    """Customers moving from each value of ``column`` in ``before`` (rows) to each in ``after`` (columns).

    Only customers in both portraits count. ``column`` is ``intimacy_level`` / ``value_level`` (3 × 3) or
    ``lifecycle_stage_zh`` (5 × 5); every category appears even with no customers.
    """
    if column in ("intimacy_level", "value_level"):
        order: list[str] = list(LEVELS)
    elif column == "lifecycle_stage_zh":
        order = list(STAGE_ZH.values())
    else:
        raise YoushuError(
            f"transitions are defined for intimacy_level, value_level or lifecycle_stage_zh, not {column!r}"
        )
    both = before[["customer_id", column]].merge(
        after[["customer_id", column]], on="customer_id", suffixes=("_before", "_after")
    )
    matrix = pd.crosstab(both[f"{column}_before"], both[f"{column}_after"])
    return matrix.reindex(index=order, columns=order, fill_value=0).rename_axis(
        index=f"{column} before", columns=f"{column} after"
    )
