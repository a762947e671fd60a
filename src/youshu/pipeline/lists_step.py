"""The pipeline's ``lists`` step: this week's wealth-product target list per outlet, without risky customers.

It takes the wealth-propensity scores of the ``models`` step and the 风险账户 flags of the ``risk`` step of the
same run, and selects each outlet's customers within its capacity (account managers seen in CRM contacts in
the last 90 days × :data:`PER_MANAGER_WEEK` contacts a week), leaving out customers flagged 风险账户 and those
who declined a contact in the last 30 days (``youshu.models.target_lists``). Into the run folder it writes::

    lists/wealth_targets.xlsx, lists/wealth_targets.parquet   the list: masked name and phone, zh reasons
    lists/wealth_targets_summary.{xlsx,parquet}               per outlet: capacity, selected, excluded by reason

Without scores (the models step could not train on this province) it explains instead of failing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from youshu.models.target_lists import (
    EXCLUSION_REASONS,
    ScoredCampaign,
    TargetLists,
    build_target_lists,
    write_target_lists,
)
from youshu.reports.html import Block, Column, Kpi, KpiGrid, Note, Section, TableBlock, fmt_int

if TYPE_CHECKING:
    from youshu.pipeline.run import RunContext

__all__ = ["LIST_FILE", "PER_MANAGER_WEEK", "lists_step"]

log = logging.getLogger(__name__)

LIST_FILE = "lists/wealth_targets"
#: Customers one account manager contacts in a week.
PER_MANAGER_WEEK = 20
#: Outlets and customers shown in the report (the files hold all).
SHOWN_OUTLETS, SHOWN_CUSTOMERS = 12, 10


def _campaign(scores: pd.DataFrame) -> ScoredCampaign:
    reasons = scores[[c for c in ("reason_1", "reason_2", "reason_3") if c in scores.columns]]
    text = reasons.apply(lambda row: "；".join(str(v) for v in row if isinstance(v, str) and v), axis=1)
    table = pa.table(
        {
            "customer_id": pa.array(scores["customer_id"].astype(str)),
            "score": pa.array(scores["score"].astype(float)),
            "reasons": pa.array(text.astype(str) if len(text) else [], pa.string()),
        }
    )
    return ScoredCampaign("wealth", table, zh="理财产品", purpose="wealth")


def lists_step(ctx: RunContext) -> list[Section]:
    """Select this week's wealth target list per outlet as of ``ctx.as_of``; write it; report.

    Returns
    -------
    list of Section
        One section, 营销名单 target lists.
    """
    wealth = ctx.results.get("wealth")
    if wealth is None or getattr(wealth, "scores", None) is None or wealth.scores.empty:
        return [
            Section(
                "lists",
                "营销名单",
                "Target lists",
                (
                    Note(
                        "本次运行没有理财倾向评分 (见上方模型部分), 未生成营销名单。",
                        "No wealth-propensity scores in this run (see the models sections): no target list.",
                        kind="warning",
                    ),
                ),
            )
        ]
    risk = ctx.results.get("risk")
    risky = (
        risk["flags"].loc[risk["flags"]["is_risky_account"], "customer_id"].astype(str).tolist()
        if risk
        else []
    )
    result = build_target_lists(
        ctx.warehouse,
        [_campaign(wealth.scores)],
        ctx.as_of,
        per_manager_week=PER_MANAGER_WEEK,
        risky=risky,
        engine=ctx.engine,
    )
    for suffix in (".xlsx", ".parquet"):
        write_target_lists(
            result, ctx.out_dir / f"{LIST_FILE}{suffix}", ctx.warehouse, exported_by="youshu run"
        )
    ctx.results["lists"] = result
    log.info("lists: %d customers selected", result.lists.num_rows)
    return [_section(result, risk is not None)]


def _section(result: TargetLists, risk_ran: bool) -> Section:
    summary = result.summary.to_pandas()
    lists = result.lists.to_pandas()
    excluded = result.excluded
    kpis = [
        Kpi(
            "可接触容量",
            "capacity this week",
            fmt_int(summary["capacity"].sum()),
            note=f"每位客户经理每周 {PER_MANAGER_WEEK} 位",
        ),
        Kpi("入选客户", "customers selected", fmt_int(len(lists))),
        Kpi("网点", "outlets with a list", fmt_int(int((summary["selected"] > 0).sum()))),
        *(
            Kpi(f"剔除:{zh}", f"excluded: {code}", fmt_int(excluded.get(code, 0)))
            for code, zh in EXCLUSION_REASONS.items()
            if code in ("risky_account", "declined_recently", "opted_out")
        ),
    ]
    busiest = summary.sort_values(["over_capacity", "outlet_id"], ascending=[False, True]).head(SHOWN_OUTLETS)
    summary_columns = [
        Column("outlet_id", "网点", "outlet"),
        Column("account_managers", "客户经理", "account managers", "int"),
        Column("capacity", "容量", "capacity", "int"),
        Column("candidates", "候选", "candidates", "int"),
        Column("selected", "入选", "selected", "int"),
        Column("excluded_risky_account", "剔除:风险账户", "excluded: risky", "int"),
        Column("excluded_declined_recently", "剔除:冷静期", "excluded: declined", "int"),
        Column("over_capacity", "超出容量", "over capacity", "int"),
    ]
    blocks: list[Block] = [
        KpiGrid(tuple(kpis)),
        TableBlock(
            busiest,
            [c for c in summary_columns if c.key in busiest.columns],
            title_zh="容量最紧的网点",
            title_en=(
                f"The {len(busiest)} outlets leaving most candidates over capacity "
                "(lists/wealth_targets_summary.xlsx has every outlet)"
            ),
        ),
        TableBlock(
            lists.head(SHOWN_CUSTOMERS),
            (
                Column("outlet_id", "网点", "outlet"),
                Column("rank_in_outlet", "网点内排名", "rank in outlet", "int"),
                Column("customer_id", "客户号", "customer"),
                Column("score", "得分", "score", "float"),
                Column("reasons", "推荐理由", "reasons"),
            ),
            title_zh="名单示例",
            title_en="The first rows of the list (names and phones are masked in the files)",
        ),
    ]
    if not risk_ran:
        blocks.append(
            Note(
                "本次运行没有风险账户标记, 名单未剔除风险客户。",
                "No 风险账户 flags in this run: risky customers could not be left out.",
                kind="warning",
            )
        )
    return Section("lists", "营销名单", "Target lists", tuple(blocks))
