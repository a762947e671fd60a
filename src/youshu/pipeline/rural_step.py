"""The pipeline's ``rural`` step: 一县一品 specialty catalogue, county map, chain customers and the selection.

As of the run's date it computes the specialty catalogue, the chain members and the eligibility selection (top
N scaled to the province, without the 风险账户 customers flagged by the ``risk`` step of the same run when it
ran), and writes into the run folder::

    rural/catalogue.parquet                  every county × product (youshu.rural.catalogue)
    rural/chain_members.parquet              chain, stage, probability, evidence per member
    rural/selection.{xlsx,parquet}           the top N per outlet: masked name and phone, zh reasons
    rural/selection_summary.{xlsx,parquet}   per outlet: selected, mean score, AUM potential
    rural/county_map.html                    the offline county map of specialties

Without chain activity (no member found) it writes the catalogue, the members (empty) and the map, and says
so in the report instead of a selection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_file
from youshu.engine import Tables
from youshu.reports.html import (
    Block,
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Link,
    Note,
    Section,
    TableBlock,
    fmt_int,
)
from youshu.rural import STAGE_ZH, chain_customers, specialty_catalogue
from youshu.rural.county_map import county_map_figure, county_map_html
from youshu.rural.eligibility import eligibility_scores
from youshu.rural.select import RuralSelection, rural_selection, write_selection

if TYPE_CHECKING:
    from pathlib import Path

    from youshu.pipeline.run import RunContext

__all__ = [
    "CATALOGUE_FILE",
    "MAP_FILE",
    "MEMBERS_FILE",
    "SELECTION_FILE",
    "RuralResult",
    "rural_step",
]

log = logging.getLogger(__name__)

CATALOGUE_FILE = "rural/catalogue.parquet"
MEMBERS_FILE = "rural/chain_members.parquet"
SELECTION_FILE = "rural/selection"
MAP_FILE = "rural/county_map.html"
#: Counties and selected customers shown in the report (the files hold all).
SHOWN_COUNTIES, SHOWN_CUSTOMERS = 30, 10
SECTION = ("rural", "一县一品", "One county, one product: specialties and chain customers")


@dataclass(frozen=True)
class RuralResult:
    """What the step leaves in ``ctx.results["rural"]``."""

    catalogue: pd.DataFrame
    members: pd.DataFrame
    selection: RuralSelection | None


def _write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema | None = None) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False, schema=schema)
    with atomic_file(path) as tmp:
        pq.write_table(table.replace_schema_metadata(None), tmp, compression="zstd")


def _risky(ctx: RunContext) -> list[str] | None:
    """Customers the risk step of this run flagged 风险账户, or None when it did not run."""
    risk = ctx.results.get("risk")
    if not risk:
        return None
    flags = risk["flags"]
    return flags.loc[flags["is_risky_account"].fillna(False).astype(bool), "customer_id"].astype(str).tolist()


def rural_step(ctx: RunContext) -> list[Section]:
    """Catalogue, chain members, selection and county map as of ``ctx.as_of``; write them; report.

    Returns
    -------
    list of Section
        One section, 一县一品.
    """
    t = Tables(ctx.engine, ctx.warehouse)
    expr = specialty_catalogue(t, ctx.as_of)
    catalogue = ctx.engine.execute(expr)
    counties = ctx.engine.execute(t.counties.select("county_id", "county_name", "lat", "lon"))
    members = chain_customers(ctx.engine, ctx.warehouse, ctx.as_of)
    # The expression's schema, not pandas' guess: an all-null column (e.g. peak_month on a tiny province)
    # would otherwise be written as type null by one engine and double by another.
    _write_parquet(catalogue, ctx.out_dir / CATALOGUE_FILE, schema=expr.schema().to_pyarrow())
    _write_parquet(members, ctx.out_dir / MEMBERS_FILE)
    with atomic_file(ctx.out_dir / MAP_FILE) as tmp:
        tmp.write_text(county_map_html(catalogue, counties, as_of=ctx.as_of), encoding="utf-8")
    risky = _risky(ctx)
    selection = None
    if not members.empty:
        scores = eligibility_scores(ctx.engine, ctx.warehouse, ctx.as_of, members=members)
        selection = rural_selection(ctx.engine, ctx.warehouse, ctx.as_of, risky=risky or [], scores=scores)
        for suffix in (".parquet", ".xlsx"):
            write_selection(selection, ctx.out_dir / f"{SELECTION_FILE}{suffix}", ctx.warehouse)
    ctx.results["rural"] = RuralResult(catalogue, members, selection)
    log.info(
        "rural: %d county-products, %d chain members, %d selected",
        len(catalogue),
        len(members),
        0 if selection is None else len(selection.lists),
    )
    figure = county_map_figure(catalogue, counties, as_of=ctx.as_of)
    return [_section(catalogue, counties, members, selection, figure, risk_ran=risky is not None)]


def _top_specialties(catalogue: pd.DataFrame) -> pd.DataFrame:
    first = catalogue[catalogue["rank_in_county"] == 1]
    return first.sort_values(["competitiveness_index", "county_id"], ascending=[False, True])


def _by_industry_stage(members: pd.DataFrame) -> pd.DataFrame:
    """Chain members per product (rows) and stage (columns 生产/加工/销售), with a total, largest first."""
    stages = list(STAGE_ZH)
    counts = members.groupby(["chain_industry_zh", "chain_stage"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=stages, fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts = counts.reset_index().sort_values(["total", "chain_industry_zh"], ascending=[False, True])
    return counts.reset_index(drop=True)


def _kpis(
    catalogue: pd.DataFrame, counties: pd.DataFrame, members: pd.DataFrame, selection: RuralSelection | None
) -> KpiGrid:
    first = catalogue[catalogue["rank_in_county"] == 1]
    concentrated = int((first["location_quotient"] > 1).sum())
    stage_counts = members["chain_stage"].value_counts()
    items = [
        Kpi(
            "有特产的区县",
            "counties with a specialty",
            f"{concentrated:,} / {len(counties):,}",
            note="首位特产区位商 > 1",
        ),
        Kpi("产业链客户", "chain customers", fmt_int(len(members)), "户"),
        *(
            Kpi(f"{zh}环节", f"{stage} stage", fmt_int(int(stage_counts.get(stage, 0))), "户")
            for stage, zh in STAGE_ZH.items()
        ),
    ]
    if selection is not None:
        items.append(
            Kpi(
                "优选客户",
                "customers selected",
                fmt_int(len(selection.lists)),
                "户",
                f"N = {selection.top:,}；剔除风险账户 {selection.excluded.get('risky_account', 0):,}",
            )
        )
    return KpiGrid(tuple(items))


def _section(
    catalogue: pd.DataFrame,
    counties: pd.DataFrame,
    members: pd.DataFrame,
    selection: RuralSelection | None,
    figure: go.Figure,
    *,
    risk_ran: bool,
) -> Section:
    top = _top_specialties(catalogue)
    blocks: list[Block] = [
        _kpis(catalogue, counties, members, selection),
        FigureBlock(
            figure,
            "县域特产地图",
            "County specialties: colour = first product, size = its activity",
            height=560,
        ),
        Link(MAP_FILE, "打开县域特产地图", "Open the county map", note="离线可用，无需网络 works offline"),
        TableBlock(
            top.head(SHOWN_COUNTIES),
            (
                Column("county_name", "区县", "county"),
                Column("county_id", "区县编号", "county id"),
                Column("industry_zh", "首位特产", "first specialty"),
                Column("location_quotient", "区位商", "location quotient", "float"),
                Column("competitiveness_index", "竞争力指数", "competitiveness", "float"),
                Column("participants", "参与客户", "participants", "int"),
                Column("growth", "增长率", "growth", "pct"),
            ),
            title_zh="各区县首位特产",
            title_en=(
                f"First specialty per county, most competitive first ({min(len(top), SHOWN_COUNTIES)} of "
                f"{len(top)}; {CATALOGUE_FILE} has every county and product)"
            ),
        ),
    ]
    if members.empty:
        blocks.append(
            Note(
                "本省截至当日没有识别出产业链客户 (无涉农收购、农资、电商、物流等资金往来), 未生成优选名单。",
                "No chain customers found up to the as-of date (no flows with agricultural buyers, farm inputs, "
                "e-commerce or logistics): no selection.",
                kind="warning",
            )
        )
        return Section(*SECTION, tuple(blocks))
    blocks.append(
        TableBlock(
            _by_industry_stage(members),
            (
                Column("chain_industry_zh", "产业链", "chain"),
                *(Column(s, zh, s, "int") for s, zh in STAGE_ZH.items()),
                Column("total", "合计", "total", "int"),
            ),
            title_zh="产业链客户 按产业 × 环节",
            title_en=f"Chain customers by product and stage ({MEMBERS_FILE})",
        )
    )
    if selection is not None:
        blocks.append(
            TableBlock(
                selection.lists.sort_values("rank").head(SHOWN_CUSTOMERS),
                (
                    Column("rank", "全省排名", "rank", "int"),
                    Column("home_outlet_id", "归属网点", "outlet"),
                    Column("customer_id", "客户号", "customer"),
                    Column("chain_industry_zh", "产业链", "chain"),
                    Column("chain_stage_zh", "环节", "stage"),
                    Column("eligibility_score", "准入评分", "eligibility score", "float"),
                    Column("campaigns", "推荐营销", "campaigns"),
                    Column("reasons", "理由", "reasons"),
                ),
                title_zh="优选名单示例",
                title_en=(
                    f"The first rows of the selection (names and phones are masked in "
                    f"{SELECTION_FILE}.xlsx; per-outlet lists there)"
                ),
            )
        )
    if not risk_ran:
        blocks.append(
            Note(
                "本次运行没有风险账户标记, 优选名单未剔除风险客户。",
                "No 风险账户 flags in this run: risky customers could not be left out of the selection.",
                kind="warning",
            )
        )
    return Section(*SECTION, tuple(blocks))
