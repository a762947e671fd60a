"""The pipeline's ``circles`` step: micro business circles (微商圈), merchant alerts, KPIs and campaign ledgers.

Into the run folder it writes::

    circles/          circle_summary, circle_members, circle_categories, merchant_home, huff_zones, ... (Parquet)
    circles/map.html  the offline map of outlets, circles, merchants (coloured by merchant tag) and Huff zones
    circles/circle_tags.parquet  per circle and key merchant tag: members tagged, share, home members tagged
    merchants/        alerts.parquet (one row per merchant and rule, evidence in zh), alerts_by_outlet.parquet,
                      vip.parquet, kpi_outlets.parquet, campaigns.parquet, alliance_ledger.parquet

and returns four report sections (circles with the map, fund-flow alerts, KPIs, campaign alliance). The
merchant colours and the tag counts per circle come from the merchant tags applied by the ``tags`` step
earlier in the run, when present (without them there is no ``circle_tags.parquet``).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_file
from youshu.campaigns.report import CampaignReport, campaign_report
from youshu.geo.build import CirclesBuild, build_and_write
from youshu.geo.circle_tags import KEY_MERCHANT_TAGS, circle_tag_counts, merchant_tag_names, tag_count_columns
from youshu.geo.map import map_figure, map_html
from youshu.merchants.alerts import MerchantAlerts, merchant_alerts
from youshu.merchants.kpi import KpiReport, kpi_report
from youshu.merchants.periods import Period
from youshu.reports.html import (
    Block,
    Column,
    FigureBlock,
    Format,
    Kpi,
    KpiGrid,
    Link,
    Note,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
)

if TYPE_CHECKING:
    from youshu.config import Settings
    from youshu.pipeline.run import RunContext

__all__ = [
    "CIRCLE_TAGS_FILE",
    "MAP_FILE",
    "MERCHANT_TAG_COLOURS",
    "circles_step",
    "merchant_tag_labels",
    "quarter_of",
]

log = logging.getLogger(__name__)

MAP_FILE = "circles/map.html"
CIRCLE_TAGS_FILE = "circles/circle_tags.parquet"

#: Merchant tags that colour the map, most urgent first: a merchant shows the first one it has.
MERCHANT_TAG_COLOURS: tuple[str, ...] = (
    "流失预警",
    "沉睡商户",
    "资产提升不佳",
    "收单码使用频率不高",
    "VIP商户",
    "成长商户",
)


def quarter_of(day: date) -> Period:
    """The calendar quarter holding ``day`` (KPIs of the run are those of its quarter to date)."""
    return Period.parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def merchant_tag_labels(wide_dir: Path, zh_by_id: dict[str, str]) -> dict[str, str]:
    """Per merchant the first of :data:`MERCHANT_TAG_COLOURS` it has, from an applied wide merchant tag table.

    ``zh_by_id`` maps tag ids to zh names; tags missing from the table are skipped.
    """
    id_by_zh = {zh: tag_id for tag_id, zh in zh_by_id.items()}
    wanted = [id_by_zh[zh] for zh in MERCHANT_TAG_COLOURS if zh in id_by_zh]
    names = set(pq.read_schema(next(iter(sorted(wide_dir.glob("*.parquet"))))).names)
    wanted = [w for w in wanted if w in names]
    if not wanted:
        return {}
    frame = pq.read_table(wide_dir, columns=["merchant_id", *wanted]).to_pandas()
    labels: dict[str, str] = {}
    for tag_id in reversed(wanted):  # the most urgent tag is written last and wins
        hits = frame.loc[frame[tag_id].astype("boolean").fillna(False).astype(bool), "merchant_id"]
        labels.update(dict.fromkeys(hits, zh_by_id[tag_id]))
    return labels


def _settings() -> Settings:
    from youshu.config import get_settings

    return get_settings()


def _write(table: pa.Table | pd.DataFrame, path: Path) -> None:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)


def circles_step(ctx: RunContext) -> list[Section]:
    """Build circles and Huff zones, merchant alerts, KPIs and the campaign ledger as of ``ctx.as_of``.

    Returns
    -------
    list of Section
        微商圈 (with the map), 商户资金动向, 网点考核 and 异业联盟.
    """
    settings = _settings()
    build = build_and_write(
        ctx.engine, ctx.warehouse, ctx.as_of, ctx.out_dir / "circles", radius_km=settings.circles.radius_km
    )
    labels = _tag_labels(ctx)
    tag_counts = _circle_tag_counts(ctx, build)
    if tag_counts is not None:
        _write(tag_counts, ctx.out_dir / CIRCLE_TAGS_FILE)
    map_path = ctx.out_dir / MAP_FILE
    with atomic_file(map_path) as tmp:
        tmp.write_text(
            map_html(build.circles, merchant_tags=labels, huff_zones=build.huff_zones), encoding="utf-8"
        )

    merchants_dir = ctx.out_dir / "merchants"
    alerts = merchant_alerts(ctx.engine, ctx.warehouse, ctx.as_of, settings=settings.merchants)
    _write(alerts.alerts, merchants_dir / "alerts.parquet")
    _write(alerts.by_outlet, merchants_dir / "alerts_by_outlet.parquet")
    _write(alerts.vip, merchants_dir / "vip.parquet")
    kpis = kpi_report(
        ctx.engine, ctx.warehouse, quarter_of(ctx.as_of), as_of=ctx.as_of, settings=settings.merchants.kpi
    )
    _write(kpis.outlets, merchants_dir / "kpi_outlets.parquet")
    campaigns = campaign_report(ctx.engine, ctx.warehouse, ctx.as_of, settings=settings.merchants.campaigns)
    _write(campaigns.campaigns, merchants_dir / "campaigns.parquet")
    _write(campaigns.ledger, merchants_dir / "alliance_ledger.parquet")
    ctx.results["circles"] = build
    ctx.results["merchant_alerts"] = alerts
    return [
        _circles_section(build, labels, tag_counts),
        _alerts_section(alerts),
        _kpi_section(kpis),
        _campaigns_section(campaigns),
    ]


def _tag_labels(ctx: RunContext) -> dict[str, str]:
    tags = ctx.results.get("tags")
    if tags is None or "merchant" not in tags.tables:
        return {}
    wide = ctx.out_dir / tags.tables["merchant"] / "wide"
    zh = {d.id: d.display_name_zh for d in tags.tagset.for_entity("merchant")}
    return merchant_tag_labels(wide, zh)


def _circle_tag_counts(ctx: RunContext, build: CirclesBuild) -> pa.Table | None:
    """The key merchant tags (those the definitions have) counted per circle, or None without merchant tags."""
    tags = ctx.results.get("tags")
    if tags is None or "merchant" not in tags.tables:
        return None
    defined = {d.display_name_zh for d in tags.tagset.for_entity("merchant") if d.kind == "boolean"}
    names = [n for n in KEY_MERCHANT_TAGS if n in defined]
    if len(names) < len(KEY_MERCHANT_TAGS):
        log.warning(
            "circles: the definitions lack merchant tags %s", sorted(set(KEY_MERCHANT_TAGS) - defined)
        )
    if not names:
        return None
    wide = ctx.out_dir / tags.tables["merchant"] / "wide"
    return circle_tag_counts(build.circles, wide, merchant_tag_names(tags.tagset, names))


def _circles_section(build: CirclesBuild, labels: dict[str, str], tag_counts: pa.Table | None) -> Section:
    summary = build.circles.summary.to_pandas()
    home = build.circles.merchant_home.to_pandas()
    inside = home[home["circles"] > 0]
    radius = build.circles.radius_km
    items = [
        Kpi("网点商圈", "Outlet circles", fmt_int(len(summary)), note=f"半径 {radius:g} km"),
        Kpi("圈内商户", "Merchants in a circle", fmt_int(len(inside)), note=f"共 {fmt_int(len(home))} 户"),
        Kpi(
            "渗透率",
            "Penetration",
            fmt_pct(inside["is_acquired"].mean() if len(inside) else None),
            note="圈内已签约 / 圈内全部",
        ),
        Kpi("跨圈商户", "In several circles", fmt_int(int((home["circles"] > 1).sum()))),
    ]
    if build.huff is not None:
        items.append(
            Kpi(
                "Huff 距离衰减 λ",
                "Huff distance decay",
                f"{build.huff.lambda_:.2f}",
                note="由客户网点使用校准",
            )
        )
    top = summary.sort_values(["merchants", "outlet_id"], ascending=[False, True]).head(15)
    busiest = summary.groupby("county_id")["merchants"].sum().sort_values(ascending=False).index[:1]
    focus = sorted(summary.loc[summary["county_id"].isin(busiest), "outlet_id"])
    columns = [Column(c, zh, en, fmt) for c, zh, en, fmt in _CIRCLE_COLUMNS if c in top.columns]
    if tag_counts is not None:
        top = top.merge(tag_count_columns(tag_counts), on="outlet_id", how="left")
        ids, zh_names = tag_counts.column("tag_id").to_pylist(), tag_counts.column("tag_zh").to_pylist()
        tags = dict(zip(ids, zh_names, strict=True))
        columns += [Column(f"tagged_{t}", zh, t, "int") for t, zh in tags.items()]
    figure = map_figure(
        build.circles,
        outlet_ids=focus,
        merchant_tags=labels,
        huff_zones=build.huff_zones,
        max_merchants=5_000,
    )
    blocks: list[Block] = [
        KpiGrid(items),
        FigureBlock(
            figure,
            f"微商圈地图：商户最多的区县（{len(focus)} 个网点）",
            "Circles of the county with the most merchants; the whole province is in map.html",
            height=640,
        ),
        Link(MAP_FILE, "打开全省地图", "Open the province map", note="离线可用，无需网络 works offline"),
        TableBlock(
            top,
            columns,
            "商户最多的 15 个商圈",
            "The 15 circles with the most merchants",
            note=_TAG_NOTE if tag_counts is not None else "",
        ),
    ]
    if not labels:
        blocks.append(
            Note(
                "本次运行无商户标签，地图按商户状态着色。",
                "No merchant tags in this run: colours show status.",
            )
        )
    return Section("circles", "微商圈", "Merchant micro-circles", blocks)


_TAG_NOTE = (
    "标签列为圈内带该商户标签的商户数；商圈重叠时商户在其所在的每个商圈各计一次（归属商圈计数见 "
    f"{CIRCLE_TAGS_FILE}）。 Tag columns count the members with each merchant tag; a merchant in several "
    "circles counts in each (home-circle counts in circle_tags.parquet)."
)

_CIRCLE_COLUMNS: tuple[tuple[str, str, str, Format], ...] = (
    ("outlet_name", "网点", "Outlet", "text"),
    ("merchants", "圈内商户", "Merchants", "int"),
    ("acquired_merchants", "已签约", "Acquired", "int"),
    ("prospect_merchants", "潜在商户", "Prospects", "int"),
    ("penetration", "渗透率", "Penetration", "pct"),
    ("effective_merchants", "有效商户", "Effective", "int"),
    ("qr_amount_fen", "收单金额(万元)", "QR amount", "wan"),
    ("deposit_fen", "沉淀资金(万元)", "Retained deposits", "wan"),
)


def _alerts_section(alerts: MerchantAlerts) -> Section:
    by_rule = alerts.alerts.groupby("rule_zh").size() if not alerts.alerts.empty else pd.Series(dtype=int)
    items = [Kpi("预警商户", "Merchants alerted", fmt_int(alerts.alerts["merchant_id"].nunique()))]
    items += [Kpi(str(rule), "", fmt_int(n)) for rule, n in by_rule.items()]
    items.append(Kpi("VIP商户", "VIP merchants", fmt_int(len(alerts.vip))))
    outlets = alerts.by_outlet.head(10)
    sample = alerts.alerts.head(15)
    blocks: list[Block] = [
        KpiGrid(items),
        TableBlock(
            outlets,
            [
                Column("outlet_name", "网点", "Outlet"),
                Column("merchants", "签约商户", "Merchants", "int"),
                Column("alerts", "预警", "Alerts", "int"),
                Column("vip", "VIP", "VIP", "int"),
            ],
            "预警最多的网点",
            "Outlets with the most alerts",
        ),
        TableBlock(
            sample,
            [
                Column("outlet_name", "网点", "Outlet"),
                Column("merchant_name", "商户", "Merchant"),
                Column("rule_zh", "规则", "Rule"),
                Column("evidence_zh", "依据", "Evidence"),
            ],
            "预警样例",
            "Sample alerts (all in merchants/alerts.parquet; youshu merchants alerts)",
        ),
    ]
    return Section("merchant-alerts", "商户资金动向", "Merchant fund-flow alerts", blocks)


def _kpi_section(kpis: KpiReport) -> Section:
    frame = kpis.outlets
    metric_columns = [
        Column(c, zh, en, "int")
        for c, zh, en in (
            ("new_effective_merchants", "新增有效商户", "New effective merchants"),
            ("new_effective_merchants_target", "目标", "Target"),
        )
        if c in frame.columns
    ]
    columns = [Column("city_name", "城市", "City"), Column("outlet_name", "网点", "Outlet"), *metric_columns]
    if "assets_brought_in_fen" in frame.columns:
        columns.append(Column("assets_brought_in_fen", "带来资产(万元)", "Assets brought in", "wan"))
    columns += [Column("score", "得分", "Score", "float"), Column("rank_in_city", "市内排名", "Rank", "int")]
    top = frame.sort_values("score", ascending=False).head(10) if "score" in frame else frame.head(10)
    note = (
        f"考核期 {kpis.period.label}，截至 {kpis.as_of}；目标按已过天数折算。"
        f"Period {kpis.period.label} to {kpis.as_of}; targets pro-rated by elapsed days."
    )
    blocks = [TableBlock(top, columns, "得分最高的 10 个网点", "Top 10 outlets by KPI score", note=note)]
    return Section("outlet-kpis", "网点考核", "Outlet KPIs", blocks)


def _campaigns_section(report: CampaignReport) -> Section:
    frame = report.campaigns
    spec: tuple[tuple[str, str, str, Format], ...] = (
        ("campaign_name", "活动", "Campaign", "text"),
        ("treatment", "实验组", "Treated", "int"),
        ("control", "对照组", "Control", "int"),
        ("uplift", "转化提升", "Uplift", "pct"),
        ("uplift_low", "下限", "Low", "pct"),
        ("uplift_high", "上限", "High", "pct"),
        ("incremental_conversions", "增量转化", "Incremental", "float"),
    )
    columns = [Column(c, zh, en, fmt) for c, zh, en, fmt in spec if c in frame.columns]
    note = f"提升 = 实验组转化率 − 随机对照组转化率，区间置信度 {report.confidence:.0%}。"
    return Section(
        "campaign-alliance",
        "异业联盟",
        "Campaign alliance",
        [
            TableBlock(
                frame, columns, "活动效果", "Campaign effects against the randomized control", note=note
            )
        ],
    )
