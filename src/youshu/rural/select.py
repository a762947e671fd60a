"""Rural selection (乡村振兴客户优选): the top N chain customers for agricultural loans and AUM campaigns.

N defaults to 200,000 for a 16M-customer province, scaled to the province: ``round(200_000 × customers /
16_000_000)``, at least 100. Excluded first: 风险账户 customers and customers without a home outlet (null, or
an outlet the outlets table does not know). The rest are ranked by eligibility score (ties: customer id) and
the top N listed per outlet with their rank in the outlet, masked personal data and zh reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.models.target_inputs import read_risky
from youshu.reports.lists import customer_list, write_list, zh_headers
from youshu.rural.eligibility import ELIGIBILITY_COLUMNS, eligibility_scores

__all__ = [
    "PROVINCE_CUSTOMERS",
    "PROVINCE_TOP",
    "RuralSelection",
    "default_top",
    "rural_selection",
    "select_top",
    "write_selection",
]

PROVINCE_TOP = 200_000
PROVINCE_CUSTOMERS = 16_000_000
MIN_TOP = 100
EXCLUSION_ZH = {"risky_account": "风险账户", "no_home_outlet": "无归属网点"}
LIST_ZH = {
    **ELIGIBILITY_COLUMNS,
    "home_outlet_id": "归属网点",
    "rank": "全省排名",
    "rank_in_outlet": "网点内排名",
    "campaigns": "推荐营销",
    "selected": "入选客户",
    "mean_score": "平均准入评分",
    "aum_potential_total_fen": "资产提升潜力合计(分)",
}


def default_top(customers: int) -> int:
    """N for a province of ``customers``: 200,000 × customers / 16M, rounded, at least 100.

    Examples
    --------
    >>> default_top(16_000_000), default_top(1_000_000), default_top(5_000)
    (200000, 12500, 100)
    """
    return max(MIN_TOP, round(PROVINCE_TOP * customers / PROVINCE_CUSTOMERS))


def select_top(
    ids: pa.Array, score: np.ndarray, has_outlet: np.ndarray, risky: pa.Array | None, top: int
) -> tuple[np.ndarray, dict[str, int]]:
    """Row indices of the ``top`` highest scores (ties: smaller id first) among rows neither risky nor homeless.

    A partial partition finds the N-th score; only rows at or above it are sorted, so the cost is linear in
    the rows plus N log N.

    Returns
    -------
    (numpy.ndarray, dict)
        Chosen rows in rank order, and the number excluded per reason (a risky customer without an outlet
        counts as risky).
    """
    if top < 1:
        raise YoushuError(f"top must be at least 1, got {top}")
    n = len(score)
    is_risky = (
        pc.is_in(ids, value_set=risky).to_numpy(zero_copy_only=False)
        if risky is not None and len(risky)
        else np.zeros(n, dtype=bool)
    )
    ok = ~is_risky & has_outlet
    excluded = {"risky_account": int(is_risky.sum()), "no_home_outlet": int((~is_risky & ~has_outlet).sum())}
    rows = np.flatnonzero(ok)
    if len(rows) > top:
        s = score[rows]
        kth = np.partition(-s, top - 1)[top - 1]  # -(N-th highest score)
        rows = rows[-s <= kth]
    order = pc.sort_indices(
        pa.table({"s": score[rows], "id": ids.take(pa.array(rows))}),
        sort_keys=[("s", "descending"), ("id", "ascending")],
    ).to_numpy()
    return rows[order][:top], excluded


@dataclass(frozen=True)
class RuralSelection:
    """The selected customers (one row each, ordered by outlet then rank in outlet) and a per-outlet summary."""

    lists: pd.DataFrame
    summary: pd.DataFrame
    top: int
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def _homes(engine: Engine, warehouse: Path, as_of: date) -> tuple[pd.DataFrame, int]:
    """``customer_id, home_outlet_id`` (null when unknown) of customers onboarded by ``as_of``, and their count."""
    c = engine.table(warehouse, "customers")
    c = c.filter(c.onboard_date <= as_of).select("customer_id", "home_outlet_id")
    outlets = engine.execute(engine.table(warehouse, "outlets").select("outlet_id"))["outlet_id"]
    homes = engine.execute(c)
    homes["home_outlet_id"] = homes["home_outlet_id"].where(homes["home_outlet_id"].isin(set(outlets)))
    return homes, len(homes)


def rural_selection(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    top: int | None = None,
    risky: Path | Iterable[str] | None = None,
    scores: pd.DataFrame | None = None,
) -> RuralSelection:
    """Score chain members, exclude risky and homeless customers, keep the top N, list them per outlet.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse.
    as_of : date
        The as-of date.
    top : int, optional
        N (default :func:`default_top` of the customers onboarded by ``as_of``).
    risky : Path or iterable of str, optional
        风险账户: a ``customer_risk_flags`` folder or file, or customer ids (see
        ``youshu.models.target_inputs.read_risky``).
    scores : pandas.DataFrame, optional
        Precomputed :func:`youshu.rural.eligibility.eligibility_scores` (default: computed here).

    Returns
    -------
    RuralSelection
    """
    homes, customers = _homes(engine, warehouse, as_of)
    n = top if top is not None else default_top(customers)
    scored = scores if scores is not None else eligibility_scores(engine, warehouse, as_of)
    scored = scored.merge(homes, on="customer_id", how="left")
    risky_ids = read_risky(risky, as_of) if risky is not None else None
    ids = pa.array(scored["customer_id"].astype(str), pa.string())
    rows, excluded = select_top(
        ids,
        scored["eligibility_score"].to_numpy(dtype="float64"),
        scored["home_outlet_id"].notna().to_numpy(),
        risky_ids,
        n,
    )
    chosen = scored.iloc[rows].reset_index(drop=True)
    chosen.insert(0, "rank", np.arange(1, len(chosen) + 1))
    chosen["campaigns"] = np.where(chosen["aum_potential_fen"] > 0, "农业贷款；资产提升", "农业贷款")
    chosen = chosen.sort_values(["home_outlet_id", "rank"], kind="stable").reset_index(drop=True)
    chosen.insert(1, "rank_in_outlet", chosen.groupby("home_outlet_id").cumcount() + 1)
    chosen.insert(0, "home_outlet_id", chosen.pop("home_outlet_id"))
    summary = (
        chosen.groupby("home_outlet_id")
        .agg(
            selected=("customer_id", "size"),
            mean_score=("eligibility_score", "mean"),
            aum_potential_total_fen=("aum_potential_fen", "sum"),
        )
        .reset_index()
    )
    summary["mean_score"] = summary["mean_score"].round(2)
    notes = {
        "as_of": as_of.isoformat(),
        "top": str(n),
        "candidates": str(len(scored)),
        **{f"excluded_{k}": str(v) for k, v in excluded.items()},
    }
    return RuralSelection(chosen, summary, n, len(scored), excluded, notes)


def write_selection(result: RuralSelection, path: Path, warehouse: Path) -> tuple[Path, Path]:
    """Write the list (masked 姓名/手机号, zh headers) and the per-outlet summary ``<stem>_summary``.

    Both are ``.xlsx`` or ``.parquet`` (by the suffix of ``path``), written atomically.
    """
    path = Path(path)
    if path.suffix not in (".xlsx", ".parquet"):
        raise YoushuError(f"{path}: rural selection lists are written as .xlsx or .parquet")
    table = pa.Table.from_pandas(result.lists, preserve_index=False)
    people = customer_list(
        warehouse, table.column("customer_id").combine_chunks(), ("customer_id", "name", "phone")
    )
    if people.num_rows != table.num_rows:
        raise YoushuError(
            f"{table.num_rows - people.num_rows} selected customer(s) are not in {warehouse}/customers"
        )
    at = table.schema.get_field_index("customer_id") + 1
    table = table.add_column(at, "name", people.column("name")).add_column(
        at + 1, "phone", people.column("phone")
    )
    headers = {**zh_headers(table.column_names), **LIST_ZH}
    title = f"乡村振兴优选客户 rural selection {result.notes.get('as_of', '')}".strip()
    notes = {**result.notes, "exclusions": ", ".join(f"{k}={v}" for k, v in EXCLUSION_ZH.items())}
    listed = write_list(table, path, title=title, headers_zh=headers, notes=notes)
    summary = write_list(
        pa.Table.from_pandas(result.summary, preserve_index=False),
        path.with_name(f"{path.stem}_summary{path.suffix}"),
        title=f"{title} 网点汇总 per-outlet summary",
        headers_zh=headers,
        notes=notes,
    )
    return listed, summary
