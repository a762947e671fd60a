"""The pipeline's ``tags`` step: apply the tag definitions as of the run's date, write the catalogue, report.

Into the run folder it writes::

    tags/customer_tags/as_of_date=<as_of>/{wide,long}/   one row per customer (wide) / per tag value (long)
    tags/merchant_tags/as_of_date=<as_of>/{wide,long}/
    tags/tags_state.json                                 what was applied (``youshu.tags.plan`` reads it)
    catalogue.md, catalogue.html                         every tag with its definition and coverage

and returns two report sections: an overview (tags per category and kind, coverage of the boolean tags) and
the key tags the business asked for with their counts. Definitions come from ``definitions_dir/tags`` of the
project settings; without any, the step reports where it looked instead of failing the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from youshu.features import compute_features
from youshu.features.catalog import feature_schema
from youshu.reports.html import (
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Link,
    Note,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
)
from youshu.tags.catalogue import (
    CATALOGUE_HTML,
    CATALOGUE_MD,
    CATEGORY_EN,
    ENTITY_NAMES,
    KIND_NAMES,
    TagCoverage,
    compute_coverage,
    write_catalogue,
)
from youshu.tags.compiler import TagSet
from youshu.tags.definitions import ENTITIES, TagCategory, TagKind, load_definitions
from youshu.tags.state import apply

if TYPE_CHECKING:
    from youshu.pipeline.run import RunContext

__all__ = [
    "KEY_TAGS",
    "SHIPPED_DEFINITIONS",
    "TAGS_DIR",
    "TagsOutcome",
    "default_definitions",
    "tags_sections",
    "tags_step",
]

log = logging.getLogger(__name__)

#: The tag definitions of the youshu source tree (``<repo>/definitions/tags``).
SHIPPED_DEFINITIONS = Path(__file__).resolve().parents[3] / "definitions" / "tags"

#: Folder of the run holding the applied tags.
TAGS_DIR = "tags"
#: The tags the business asked for by name (issue 3), shown with their counts in the report.
KEY_TAGS: dict[str, tuple[str, ...]] = {
    "customer": (
        "payroll_customer",  # 代发工资客户
        "pension_customer",  # 养老金客户
        "outside_wealth_buyer",  # 行外理财客户
        "female_customer",  # 女性客群
        "high_net_worth_potential",  # 高净值潜力
        "dormant_customer",  # 沉睡客户
        "new_customer",  # 新客
    ),
    "merchant": (
        "low_retained_assets",  # 资产提升不佳
        "low_qr_usage",  # 收单码使用频率不高
        "vip_merchant",  # VIP商户
        "dormant_merchant",  # 沉睡商户
        "growth_merchant",  # 成长商户
        "churn_warning_merchant",  # 流失预警
    ),
}


@dataclass(frozen=True)
class TagsOutcome:
    """What the tags step did, left in ``ctx.results["tags"]`` for later steps and the CLI.

    Paths are relative to the run folder (``RunResult.folder``): the step writes into a temporary folder that
    becomes the run folder only when the whole run succeeds.

    Attributes
    ----------
    tagset : TagSet
        The definitions applied.
    rows : mapping of str to int
        Per entity, the entities tagged.
    tables : mapping of str to Path
        Per entity, the date folder with ``wide/`` and ``long/`` (``tags/<entity>_tags/as_of_date=...``).
    coverage : mapping of str to TagCoverage
        Per tag id.
    out_of_domain : mapping of str to int
        Tags with rows outside their declared ``values`` or ``range``, and how many.
    catalogue_md, catalogue_html : Path
        The catalogue files.
    """

    tagset: TagSet
    rows: Mapping[str, int]
    tables: Mapping[str, Path]
    coverage: Mapping[str, TagCoverage]
    out_of_domain: Mapping[str, int] = field(default_factory=dict)
    catalogue_md: Path = Path(CATALOGUE_MD)
    catalogue_html: Path = Path(CATALOGUE_HTML)

    def key_tags(self) -> list[tuple[str, str, str, int, float | None]]:
        """``(entity, tag id, zh name, true count, share)`` of the ``KEY_TAGS`` that were applied."""
        out = []
        for entity, ids in KEY_TAGS.items():
            for tag_id in ids:
                c = self.coverage.get(tag_id)
                if tag_id in self.tagset and c is not None and c.true_count is not None:
                    zh = self.tagset[tag_id].display_name_zh
                    out.append((entity, tag_id, zh, c.true_count, c.true_share))
        return out


def default_definitions() -> Path:
    """``definitions_dir/tags`` of the project settings (``youshu.yaml``), else the definitions shipped with youshu.

    The shipped ones (``definitions/tags`` of a source checkout) keep ``youshu demo`` working from any folder.
    """
    from youshu.config import get_settings

    settings = get_settings()
    folder = settings.resolve(settings.definitions_dir) / "tags"
    if not _has_definitions(folder) and _has_definitions(SHIPPED_DEFINITIONS):
        log.info("no tag definitions in %s; using the shipped ones in %s", folder, SHIPPED_DEFINITIONS)
        return SHIPPED_DEFINITIONS
    return folder


def tags_step(ctx: RunContext, *, definitions: Path | None = None) -> list[Section]:
    """Apply the tags of every entity as of ``ctx.as_of`` into the run folder, write the catalogue, report.

    Parameters
    ----------
    ctx : RunContext
        The run (engine, warehouse, as-of date, output folder).
    definitions : Path, optional
        Folder of tag definitions (default: :func:`default_definitions`).

    Returns
    -------
    list of Section
        The tag overview and the key tags; a single warning section when no definitions were found.

    Raises
    ------
    TagDefinitionError
        When the definitions do not load (every problem with its file, tag and field).
    TagTestsFailed
        When a definition's own tests fail; nothing is applied.
    """
    folder = default_definitions() if definitions is None else Path(definitions)
    if not _has_definitions(folder):
        log.warning("no tag definitions in %s; the run has no tags", folder)
        return [_missing_section(folder)]
    tagset = load_definitions([folder], {e: feature_schema(e) for e in ENTITIES})
    out = ctx.out_dir / TAGS_DIR
    rows: dict[str, int] = {}
    tables: dict[str, Path] = {}
    coverage: dict[str, TagCoverage] = {}
    out_of_domain: dict[str, int] = {}
    for entity in ENTITIES:
        if not tagset.for_entity(entity):
            continue
        log.info("tags: %d %s tags as of %s", len(tagset.for_entity(entity)), entity, ctx.as_of)
        # Sorted by id so a rerun writes identical files (engines otherwise emit rows in any order).
        features = compute_features(ctx.engine, ctx.warehouse, entity, ctx.as_of).order_by(f"{entity}_id")
        result = apply(ctx.engine, tagset, features, entity, ctx.as_of, out)
        wide = ctx.engine.con.read_parquet(str(result.wide_dir / "*.parquet"))
        coverage.update(compute_coverage(ctx.engine, wide, tagset, entity))
        rows[entity] = result.rows
        tables[entity] = result.wide_dir.parent.relative_to(ctx.out_dir)
        out_of_domain.update(result.out_of_domain)
    write_catalogue(ctx.out_dir, tagset, coverage, as_of=ctx.as_of)
    outcome = TagsOutcome(tagset, rows, tables, coverage, out_of_domain)
    ctx.results["tags"] = outcome
    return tags_sections(outcome, ctx.as_of.isoformat())


def _has_definitions(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in (".yml", ".yaml") for p in folder.rglob("*"))


def _missing_section(folder: Path) -> Section:
    note = Note(
        f"未找到标签定义（{folder}），本次运行未计算标签。请在 youshu.yaml 中设置 definitions_dir，"
        "其下放置 tags/customer/*.yml 与 tags/merchant/*.yml。",
        f"No tag definitions in {folder}, so this run computed no tags. Set definitions_dir in youshu.yaml "
        "to a folder holding tags/customer/*.yml and tags/merchant/*.yml (see docs/tags.md).",
        kind="warning",
    )
    return Section("tag-overview", "标签概览", "Tags overview", [note])


# -- report sections ----------------------------------------------------------------------------------------


def tags_sections(outcome: TagsOutcome, as_of: str) -> list[Section]:
    """The tag overview and key-tag sections of the report (aggregates only)."""
    return [_overview(outcome, as_of), _key_tags(outcome, as_of)]


def _overview(outcome: TagsOutcome, as_of: str) -> Section:
    tagset = outcome.tagset
    kpis = []
    for entity in outcome.rows:
        zh, en, _ = ENTITY_NAMES[entity]
        defs = tagset.for_entity(entity)
        kinds = " · ".join(
            f"{KIND_NAMES[k].split()[0]} {n}" for k in TagKind if (n := sum(1 for d in defs if d.kind == k))
        )
        kpis.append(Kpi(zh, en.lower(), fmt_int(len(defs)), "个", kinds))
    for entity, n in outcome.rows.items():
        zh = ENTITY_NAMES[entity][0].removesuffix("标签")
        # The merchant features cover every merchant row: acquired ones and prospects (prospect_merchant).
        note = "含潜在商户 incl. prospects" if entity == "merchant" else f"截至 as of {as_of}"
        kpis.append(Kpi(f"已打标{zh}", f"{entity}s tagged", fmt_int(n), "户", note))
    blocks: list[KpiGrid | TableBlock | FigureBlock | Note | Link] = [
        KpiGrid(kpis),
        Link(
            CATALOGUE_HTML,
            "标签目录：每个标签的口径、表达式、依赖与覆盖率",
            "tag catalogue: definition, expression, dependencies and coverage of every tag",
            f"同目录下 {CATALOGUE_MD} 为 Markdown 版 (Markdown version)；标签明细 tag tables: "
            f"{TAGS_DIR}/<entity>_tags/as_of_date={as_of}/wide (每对象一行 one row per entity) 与 long "
            "(每个标签值一行 one row per tag value)。",
        ),
        TableBlock(
            _counts_frame(outcome),
            [
                Column("entity_zh", "对象", "entity"),
                Column("category", "类别", "category"),
                Column("boolean", "布尔", "boolean", "int"),
                Column("categorical", "分类", "categorical", "int"),
                Column("score", "评分", "score", "int"),
                Column("total", "合计", "total", "int"),
            ],
            "各类别标签数",
            "tags per category and kind",
        ),
    ]
    if outcome.out_of_domain:
        listed = ", ".join(f"{t} ({n:,})" for t, n in sorted(outcome.out_of_domain.items()))
        blocks.append(
            Note(
                f"以下标签有取值超出其定义的取值范围（括号内为行数），请检查定义：{listed}。",
                f"These tags have values outside their declared values or range (rows in brackets); "
                f"check their definitions: {listed}.",
                kind="warning",
            )
        )
    for entity in outcome.rows:
        figure = _boolean_coverage_figure(outcome, entity)
        if figure is not None:
            zh, en, _ = ENTITY_NAMES[entity]
            blocks.append(
                FigureBlock(
                    figure[0],
                    f"{zh}覆盖率（布尔标签，为真占比）",
                    f"{en}: share true per boolean tag, highest first",
                    height=figure[1],
                )
            )
    return Section("tag-overview", "标签概览", "Tags overview", blocks)


def _counts_frame(outcome: TagsOutcome) -> pd.DataFrame:
    rows = []
    for entity in outcome.rows:
        defs = outcome.tagset.for_entity(entity)
        for category in TagCategory:
            in_category = [d for d in defs if d.category == category]
            if not in_category:
                continue
            n = {str(k): sum(1 for d in in_category if d.kind == k) for k in TagKind}
            rows.append(
                {
                    "entity_zh": f"{ENTITY_NAMES[entity][0].removesuffix('标签')} {entity}",
                    "category": f"{category.value} {CATEGORY_EN[category]}",
                    **n,
                    "total": len(in_category),
                }
            )
    return pd.DataFrame(rows)


def _boolean_coverage_figure(outcome: TagsOutcome, entity: str) -> tuple[go.Figure, int] | None:
    items = []
    for d in outcome.tagset.for_entity(entity):
        c = outcome.coverage.get(d.id)
        if d.kind == TagKind.BOOLEAN and c is not None and c.true_count is not None:
            items.append((c.true_share or 0.0, d.display_name_zh, d.id, c.true_count))
    if not items:
        return None
    items.sort(key=lambda item: (-item[0], item[2]))
    items.reverse()  # plotly draws the first bar at the bottom
    figure = go.Figure(
        go.Bar(
            x=[share * 100 for share, *_ in items],
            y=[f"{zh} · {tag_id}" for _, zh, tag_id, _ in items],
            orientation="h",
            customdata=[[f"{n:,}"] for *_, n in items],
            hovertemplate="%{y}<br>%{x:.1f}% · %{customdata[0]} 户<extra></extra>",
            texttemplate="%{x:.1f}%",
            textposition="outside",
            textfont={"size": 10},
            cliponaxis=False,
            name="为真占比 share true",
        )
    )
    figure.update_layout(
        # Up to 112 so the label of a 100% bar fits; ticks stop at 100.
        xaxis={
            "title": "为真占比 share true (%)",
            "range": [0, 112],
            "tickvals": [0, 20, 40, 60, 80, 100],
            "side": "top",
        },
        yaxis={"type": "category", "automargin": True, "tickfont": {"size": 11}},
        showlegend=False,
        bargap=0.25,
    )
    return figure, max(320, 18 * len(items) + 90)


def _key_tags(outcome: TagsOutcome, as_of: str) -> Section:
    blocks: list[KpiGrid | TableBlock | FigureBlock | Note | Link] = []
    key = outcome.key_tags()
    for entity in outcome.rows:
        rows = outcome.rows[entity]
        noun = ENTITY_NAMES[entity][0].removesuffix("标签")
        cards = [
            Kpi(zh, tag_id, fmt_int(n), "户", f"占比 {fmt_pct(share)} · 共 {rows:,} {noun}")
            for e, tag_id, zh, n, share in key
            if e == entity
        ]
        if cards:
            blocks.append(KpiGrid(cards))
    missing = [t for ids in KEY_TAGS.values() for t in ids if t not in outcome.tagset]
    if missing:
        blocks.append(
            Note(
                f"以下重点标签未定义：{', '.join(missing)}。",
                f"These key tags are not defined: {', '.join(missing)}.",
                kind="warning",
            )
        )
    folder = f"{TAGS_DIR}/customer_tags/as_of_date={as_of}"
    blocks.append(
        Note(
            f"计数为截至 {as_of} 标签为真的客户/商户数。圈选与导出名单（个人信息脱敏）：在本运行目录下执行 "
            f'youshu audience count "女性客群 AND 行外理财客户 AND NOT 沉睡客户" --tags {folder}，'
            "再用 youshu audience export 导出。",
            f"Customers/merchants for whom the tag is true as of {as_of}. To count or export an audience "
            f"(personal data masked), run youshu audience count / export with --tags {folder} "
            "from this run folder.",
        )
    )
    return Section("tag-key", "重点标签", "Key tags", blocks)
