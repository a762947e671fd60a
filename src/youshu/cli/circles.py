"""``youshu circles build|show|export`` (微商圈) and ``youshu visits plan|record|report`` (走访计划)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.config import Settings, get_settings
from youshu.engine import connect_from_settings
from youshu.errors import YoushuError
from youshu.geo.build import build_and_write
from youshu.geo.circle_tags import (
    COUNT_COLUMN_ZH,
    KEY_MERCHANT_TAGS,
    circle_tag_counts,
    find_merchant_tags,
    member_tags,
    merchant_tag_names,
    read_merchant_tags,
    tag_count_columns,
)
from youshu.geo.circles import COLUMN_ZH, CircleResult, build_circles, load_circles, load_extra
from youshu.geo.map import map_html
from youshu.geo.visits import REASONS, RESULTS, VisitLog, conversion_by_zone, plan_visits
from youshu.reports.html import fmt_int, fmt_pct, fmt_wan
from youshu.reports.lists import write_list

circles_app = typer.Typer(help="Micro business circles (微商圈) around outlets.", no_args_is_help=True)
visits_app = typer.Typer(help="Ground-team visit plans and their results (走访计划).", no_args_is_help=True)
app.add_typer(circles_app, name="circles")
app.add_typer(visits_app, name="visits")
console = Console()

CIRCLE_TABLES = {
    "summary": "circle_summary",
    "members": "circle_members",
    "categories": "circle_categories",
    "homes": "merchant_home",
    "tags": "circle_tags",
}

AS_OF = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="As-of date (default: as_of in youshu.yaml)."
)
WAREHOUSE = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default from youshu.yaml).")
CIRCLES_DIR = typer.Option(
    None, "--circles", help="Circles folder (default: runs/<as_of>/circles of youshu.yaml's runs_dir)."
)
TAGS_DIR = typer.Option(
    None,
    "--tags",
    help="Applied merchant tags: a tags folder (default tags_dir of youshu.yaml; a run's tags/ works too), "
    "or its merchant_tags/as_of_date=YYYY-MM-DD folder.",
)
TAG_NAMES = typer.Option(
    None,
    "--tag",
    help=f"Merchant tag to count per circle, zh name or id (repeat; default {', '.join(KEY_MERCHANT_TAGS)}).",
)


def _as_of(value: datetime | None, settings: Settings) -> date:
    if value is not None:
        return value.date()
    if settings.as_of is None:
        raise typer.BadParameter(
            "give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)", param_hint="--as-of"
        )
    return settings.as_of


def _circles_dir(settings: Settings, day: date, folder: Path | None) -> Path:
    return folder if folder is not None else settings.resolve(settings.runs_dir) / day.isoformat() / "circles"


def _load_or_build(
    settings: Settings, day: date, folder: Path | None, warehouse: Path | None
) -> CircleResult:
    path = _circles_dir(settings, day, folder)
    if (path / "circles.json").exists():
        return load_circles(path)
    if folder is not None:
        raise YoushuError(f"{folder} holds no circles; build them: youshu circles build --as-of {day}")
    with connect_from_settings(settings) as engine:
        return build_circles(engine, warehouse or settings.resolve(settings.warehouse), day)


@dataclass(frozen=True)
class _MerchantTags:
    """The applied merchant tags of the as-of date: the table, the tags counted per circle, every boolean tag."""

    wide: pa.Table
    counted: dict[str, str]
    listed: dict[str, str]
    source: Path


def _apply_hint(settings: Settings, day: date, base: Path, folder: Path | None) -> str:
    command = f"youshu tags apply --entity merchant --as-of {day}" + (
        f" --tags-dir {folder}" if folder else ""
    )
    runs = sorted(settings.resolve(settings.runs_dir).glob(f"{day}/*/tags"))
    found = [r for r in runs if find_merchant_tags(r, day) is not None]
    also = f" (or use a run's: --tags {found[0]})" if found else ""
    return f"no merchant tags applied for {day} in {base}; apply them: {command}{also}"


def _merchant_tags(
    settings: Settings, day: date, folder: Path | None, names: list[str] | None
) -> _MerchantTags:
    """The applied merchant tags of ``day`` with their zh names from the definitions.

    Raises
    ------
    YoushuError
        Saying what to do when none were applied for the date, the definitions are missing or a name is unknown.
    """
    from youshu.features.catalog import feature_schema
    from youshu.tags.definitions import ENTITIES, load_definitions

    base = folder if folder is not None else settings.resolve(settings.tags_dir)
    wide = find_merchant_tags(base, day)
    if wide is None:
        raise YoushuError(_apply_hint(settings, day, base, folder))
    definitions = settings.resolve(settings.definitions_dir) / "tags"
    if not definitions.is_dir():
        raise YoushuError(
            f"no tag definitions at {definitions} to name the merchant tags; set definitions_dir in youshu.yaml"
        )
    tagset = load_definitions([definitions], {e: feature_schema(e) for e in ENTITIES})
    counted = merchant_tag_names(tagset, names or KEY_MERCHANT_TAGS)
    applied = set(pq.read_schema(next(iter(sorted(wide.glob("*.parquet"))))).names)
    listed = {**counted, **merchant_tag_names(tagset, None)}
    listed = {t: zh for t, zh in listed.items() if t in applied or t in counted}
    return _MerchantTags(read_merchant_tags(wide, list(listed), day), counted, listed, wide)


def _try_merchant_tags(
    settings: Settings, day: date, folder: Path | None, names: list[str] | None
) -> _MerchantTags | None:
    """:func:`_merchant_tags`, or None with a note when they are not there (an error when tags were named)."""
    try:
        return _merchant_tags(settings, day, folder, names)
    except YoushuError as exc:
        if names:
            raise
        console.print(f"标签 merchant tags: {exc}", markup=False, highlight=False, soft_wrap=True)
        return None


@circles_app.command("build")
def build(
    as_of: datetime = AS_OF,
    radius_km: float = typer.Option(
        None, "--radius-km", help="Circle radius in km (default circles.radius_km, 3)."
    ),
    warehouse: Path = WAREHOUSE,
    out: Path = typer.Option(None, "--out", "-o", help="Folder to write (default runs/<as_of>/circles)."),
    huff: bool = typer.Option(
        True, "--huff/--no-huff", help="Also calibrate Huff catchments and their zones."
    ),
    resolution: int = typer.Option(
        7, "--h3-resolution", help="H3 resolution of the Huff zones (7: ~5 km² cells)."
    ),
) -> None:
    """Build every outlet's circle as of a date: members, counts by category, penetration, volumes.

    Writes circle_summary, circle_members, circle_categories, merchant_home (and huff_zones) as Parquet
    plus circles.json, atomically.

    Examples:

      youshu circles build --as-of 2025-09-30

      youshu circles build --as-of 2025-09-30 --radius-km 2 --out runs/2025-09-30/circles_2km
    """
    settings = get_settings()
    day = _as_of(as_of, settings)
    source = warehouse or settings.resolve(settings.warehouse)
    with connect_from_settings(settings) as engine:
        built = build_and_write(
            engine,
            source,
            day,
            _circles_dir(settings, day, out),
            radius_km=radius_km,
            huff=huff,
            h3_resolution=resolution,
        )
    result = built.circles
    summary = result.summary.to_pandas()
    homes = result.merchant_home.to_pandas()
    memberships = max(int(summary["merchants"].sum()), 1)
    console.print(
        f"微商圈 circles as of {day}: {len(summary):,} outlets, radius {result.radius_km:g} km\n"
        f"  商户 merchants in a circle: {int((homes['circles'] > 0).sum()):,} of {len(homes):,} "
        f"({result.members.num_rows:,} memberships; {int((homes['circles'] > 1).sum()):,} in several)\n"
        f"  渗透率 penetration: {fmt_pct(summary['acquired_merchants'].sum() / memberships)} of memberships "
        f"acquired; 有效商户 effective: {fmt_int(summary['effective_merchants'].sum())}",
        highlight=False,
    )
    if built.huff is not None:
        model = built.huff
        console.print(
            f"  哈夫模型 Huff λ = {model.lambda_:.3f} ± {model.lambda_se_:.3f} over "
            f"{model.n_observations_:,.0f} observations",
            highlight=False,
        )
    console.print(f"写入 written: {built.folder}", soft_wrap=True, highlight=False)


@circles_app.command("show")
def show(
    outlet_id: str = typer.Argument(
        None, help="An outlet id: its circle in detail. Omit for the top outlets."
    ),
    as_of: datetime = AS_OF,
    circles: Path = CIRCLES_DIR,
    warehouse: Path = WAREHOUSE,
    tags_dir: Path = TAGS_DIR,
    tag_names: list[str] = TAG_NAMES,
    top: int = typer.Option(20, "--top", help="Rows to show."),
) -> None:
    """Show the circles: the outlets with most merchants, or one outlet's circle by category, tag and member.

    Merchant tags (资产提升不佳, 收单码使用频率不高, VIP商户, ...) come from the tags applied for the as-of date
    (youshu tags apply --entity merchant); without them the rest is shown.

    Examples:

      youshu circles show --as-of 2025-09-30

      youshu circles show O00012 --as-of 2025-09-30

      youshu circles show O00012 --tag 有效商户 --tag 沉睡商户 --tags runs/2025-09-30/main/tags
    """
    settings = get_settings()
    day = _as_of(as_of, settings)
    result = _load_or_build(settings, day, circles, warehouse)
    tags = _try_merchant_tags(settings, result.as_of, tags_dir, tag_names)
    summary = result.summary.to_pandas()
    if outlet_id is None:
        _show_top(result, summary, tags, top)
        return
    members = result.circle(outlet_id)
    row = summary.set_index("outlet_id").loc[outlet_id]
    console.print(
        f"{row['outlet_name']} ({outlet_id}) · {result.radius_km:g} km · as of {result.as_of}\n"
        f"  商户 {fmt_int(row['merchants'])} (收单 {fmt_int(row['acquired_merchants'])}, 潜在 {fmt_int(row['prospect_merchants'])}), "
        f"渗透率 {fmt_pct(row['penetration'])}, 有效 {fmt_int(row['effective_merchants'])}, "
        f"低活跃 {fmt_int(row['low_activity_merchants'])}, 重叠 {fmt_int(row['shared_merchants'])}\n"
        f"  扫码金额 {fmt_wan(row['qr_amount_fen'])} 万元, 留存存款 {fmt_wan(row['deposit_fen'])} 万元",
        highlight=False,
    )
    cats = result.categories.to_pandas()
    cats = cats[(cats["outlet_id"] == outlet_id) & (cats["merchants"] > 0)]
    table = Table("类别 category", "商户 merchants", "收单 acquired", "有效 effective", "渗透率 penetration")
    for r in cats.itertuples():
        table.add_row(
            f"{r.category_zh} {r.category}",
            fmt_int(r.merchants),
            fmt_int(r.acquired_merchants),
            fmt_int(r.effective_merchants),
            fmt_pct(r.penetration),
        )
    console.print(table)
    if tags is not None:
        counts = circle_tag_counts(result, tags.wide, tags.counted).to_pandas()
        table = Table(
            "标签 tag",
            "商户 merchants",
            "占比 share",
            "归属 home",
            title="商户标签 merchant tags in the circle",
        )
        for r in counts[counts["outlet_id"] == outlet_id].itertuples():
            table.add_row(
                f"{r.tag_zh} {r.tag_id}",
                fmt_int(r.tagged_merchants),
                fmt_pct(r.tagged_share),
                fmt_int(r.home_tagged_merchants),
            )
        console.print(table)
        members = member_tags(result, tags.wide, outlet_id, tags.listed)
    columns: list[Column | str] = [
        Column("商户 merchant", no_wrap=True),
        "名称 name",
        "类别",
        "距离(米)",
        "状态 status",
        "归属 home",
    ]
    if tags is not None:  # tags wrap at the spaces between them, long names fold
        columns.append(Column("标签 tags", overflow="fold", ratio=1))
    table = Table(*columns)
    for r in members.head(top).itertuples():
        status = "有效" if r.is_effective else ("低活跃" if r.is_acquired else "潜在")
        cells = [
            r.merchant_id,
            r.merchant_name,
            r.category_zh,
            f"{r.distance_m:,.0f}",
            status,
            r.home_outlet_id,
        ]
        if tags is not None:
            cells.append(" ".join(r.tags_zh) or "—")
        table.add_row(*cells)
    console.print(table)


def _show_top(result: CircleResult, summary: pd.DataFrame, tags: _MerchantTags | None, top: int) -> None:
    """The outlets with most merchants, with a count column per key merchant tag when tags are there."""
    counted = tags.counted if tags is not None else {}
    if tags is not None:
        counts = tag_count_columns(circle_tag_counts(result, tags.wide, counted))
        summary = summary.merge(counts, on="outlet_id", how="left")
    rows = list(
        summary.sort_values(["merchants", "outlet_id"], ascending=[False, True]).head(top).itertuples()
    )
    title = f"微商圈 circles as of {result.as_of} (radius {result.radius_km:g} km)"

    def base_columns() -> list[Column | str]:
        return [
            Column("网点 outlet", no_wrap=True),
            "名称 name",
            "商户 merchants",
            "收单 acquired",
            "渗透率 penetration",
            "有效 effective",
            "扫码金额(万元) QR",
            "留存存款(万元) deposits",
        ]

    def tag_columns() -> list[Column]:
        # zh tag names hold no spaces to wrap at: fold them rather than cut them off
        return [Column(zh, justify="right", overflow="fold") for zh in counted.values()]

    def base_cells(r: Any) -> list[str]:
        return [
            r.outlet_id,
            r.outlet_name,
            fmt_int(r.merchants),
            fmt_int(r.acquired_merchants),
            fmt_pct(r.penetration),
            fmt_int(r.effective_merchants),
            fmt_wan(r.qr_amount_fen),
            fmt_wan(r.deposit_fen),
        ]

    def tag_cells(r: Any) -> list[str]:
        return [fmt_int(getattr(r, f"tagged_{t}")) for t in counted]

    table = Table(*base_columns(), *tag_columns(), title=title)
    for r in rows:
        table.add_row(*base_cells(r), *tag_cells(r))
    if (
        not counted
        or Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width
    ):
        console.print(table)
        return
    # Too wide for this terminal: the tag counts follow in a table of their own.
    table = Table(*base_columns(), title=title)
    tag_table = Table(
        Column("网点 outlet", no_wrap=True), *tag_columns(), title="商户标签 merchant tags per circle"
    )
    for r in rows:
        table.add_row(*base_cells(r))
        tag_table.add_row(r.outlet_id, *tag_cells(r))
    console.print(table)
    console.print(tag_table)


@circles_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", "-o", help=".xlsx or .parquet (a table) or .html (the map)."),
    as_of: datetime = AS_OF,
    circles: Path = CIRCLES_DIR,
    warehouse: Path = WAREHOUSE,
    table_name: str = typer.Option(
        "summary", "--table", help="summary, members, categories, homes or tags (merchant tags per circle)."
    ),
    outlets: list[str] = typer.Option(None, "--outlet", help="Only these outlets (repeat the option)."),
    tags_dir: Path = TAGS_DIR,
    tag_names: list[str] = TAG_NAMES,
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """Export a circle table (Excel with zh headers, or Parquet) or the offline map (HTML).

    The summary gains one count column per key merchant tag when the tags of the as-of date were applied;
    --table tags gives per circle and tag the tagged members, their share and the home members.

    Examples:

      youshu circles export --as-of 2025-09-30 -o circles.xlsx

      youshu circles export --as-of 2025-09-30 --table tags -o circle_tags.xlsx

      youshu circles export --as-of 2025-09-30 --table members --outlet O00012 -o o12.xlsx

      youshu circles export --as-of 2025-09-30 -o circles_map.html
    """
    settings = get_settings()
    day = _as_of(as_of, settings)
    result = _load_or_build(settings, day, circles, warehouse)
    folder = _circles_dir(settings, day, circles)
    if out.suffix == ".html":
        zones = load_extra(folder, "huff_zones") if folder.is_dir() else None
        page = map_html(result, outlet_ids=outlets or None, huff_zones=zones)
        with atomic_file(out) as tmp:
            tmp.write_text(page, encoding="utf-8")
        console.print(
            f"地图 map written (offline, self-contained): {out.resolve()}", soft_wrap=True, highlight=False
        )
        return
    if table_name not in CIRCLE_TABLES:
        raise typer.BadParameter(f"choose one of: {', '.join(CIRCLE_TABLES)}", param_hint="--table")
    headers = dict(COLUMN_ZH)
    notes = {"radius_km": f"{result.radius_km:g}", "as_of_date": result.as_of.isoformat()}
    tags: _MerchantTags | None = None
    if table_name == "tags":
        tags = _merchant_tags(settings, result.as_of, tags_dir, tag_names)
        table = circle_tag_counts(result, tags.wide, tags.counted)
        headers.update(COUNT_COLUMN_ZH)
    elif table_name == "summary":
        table = result.summary
        tags = _try_merchant_tags(settings, result.as_of, tags_dir, tag_names)
        if tags is not None:
            counts = tag_count_columns(circle_tag_counts(result, tags.wide, tags.counted))
            merged = result.summary.to_pandas().merge(counts, on="outlet_id", how="left")
            table = pa.Table.from_pandas(merged, preserve_index=False)
            headers.update({f"tagged_{t}": f"{zh}(户)" for t, zh in tags.counted.items()})
    else:
        table = result.tables()[CIRCLE_TABLES[table_name]]
    if tags is not None:
        notes["merchant_tags"] = str(tags.source)
    if outlets:
        frame = table.to_pandas()
        key = "home_outlet_id" if table_name == "homes" else "outlet_id"
        table = pa.Table.from_pandas(
            frame[frame[key].isin(outlets)], preserve_index=False, schema=table.schema
        )
    path = write_list(
        table,
        out,
        title=f"微商圈 {CIRCLE_TABLES[table_name]} as of {result.as_of}",
        headers_zh={c: headers.get(c, c) for c in table.column_names},
        exported_by=exported_by,
        notes=notes,
    )
    console.print(
        f"导出 exported {table.num_rows:,} rows -> {path.resolve()}", soft_wrap=True, highlight=False
    )


def _log(settings: Settings, folder: Path | None) -> VisitLog:
    return VisitLog(folder if folder is not None else settings.resolve(settings.circles.visits_dir))


LOG_DIR = typer.Option(None, "--log", help="Visit log folder (default circles.visits_dir, data/visits).")


@visits_app.command("plan")
def plan(
    outlet_id: str = typer.Argument(..., help="Outlet whose circle the team covers."),
    team: int = typer.Option(None, "--team", "-t", help="Team size (members T1..Tn)."),
    staff: str = typer.Option(None, "--staff", help="Comma-separated staff ids instead of --team."),
    as_of: datetime = AS_OF,
    start: datetime = typer.Option(None, "--start", formats=["%Y-%m-%d"], help="First visiting day."),
    stops_per_day: int = typer.Option(None, "--stops-per-day", help="Visits a member makes a day."),
    time_limit: float = typer.Option(None, "--time-limit", help="PyVRP seconds per zone."),
    include_shared: bool = typer.Option(
        False, "--include-shared", help="Also merchants homed at other outlets."
    ),
    circles: Path = CIRCLES_DIR,
    warehouse: Path = WAREHOUSE,
    log_dir: Path = LOG_DIR,
    out: Path = typer.Option(None, "--out", "-o", help="Also export the plan (.xlsx or .parquet)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan without storing it in the log."),
) -> None:
    """Plan visits to a circle's prospects and low-activity merchants: balanced zones and daily routes.

    Examples:

      youshu visits plan O00012 --team 3 --as-of 2025-09-30

      youshu visits plan O00012 --staff S101,S102 --start 2025-10-08 -o plan.xlsx
    """
    settings = get_settings()
    cfg = settings.circles
    day = _as_of(as_of, settings)
    members: int | list[str]
    if staff:
        members = [s.strip() for s in staff.split(",") if s.strip()]
    elif team:
        members = team
    else:
        raise typer.BadParameter("give --team N or --staff ID1,ID2,...", param_hint="--team")
    result = _load_or_build(settings, day, circles, warehouse)
    visit_log = _log(settings, log_dir)
    visit_plan = plan_visits(
        result,
        outlet_id,
        members,
        start_date=start.date() if start else None,
        stops_per_day=stops_per_day or cfg.stops_per_day,
        tolerance=cfg.zone_tolerance,
        time_limit_s=time_limit or cfg.route_time_limit_s,
        include_shared=include_shared,
        log=visit_log,
    )
    table = Table(
        "片区 zone",
        "人员 staff",
        "商户 stops",
        "潜在 prospects",
        "低活跃 low",
        "天数 days",
        "路线(公里) route km",
        "最近邻(公里) NN km",
        "缩短 shorter",
        title=f"走访计划 plan {visit_plan.plan_id}",
    )
    for r in visit_plan.zones.itertuples():
        saving = 1 - r.route_m / r.nearest_neighbour_m if r.nearest_neighbour_m else 0.0
        table.add_row(
            str(r.zone),
            r.staff_id,
            str(r.stops),
            str(r.prospects),
            str(r.low_activity),
            str(r.days),
            f"{r.route_m / 1000:.1f}",
            f"{r.nearest_neighbour_m / 1000:.1f}",
            fmt_pct(saving),
        )
    console.print(table)
    if not dry_run:
        path = visit_log.add_plan(visit_plan)
        console.print(f"计划已记录 plan stored: {path}", soft_wrap=True, highlight=False)
    if out is not None:
        headers = {
            "plan_id": "计划编号",
            "visit_id": "走访编号",
            "zone": "片区",
            "staff_id": "人员",
            "reason": "走访原因",
            "day": "第几天",
            "stop": "顺序",
            "planned_date": "计划日期",
            "route_method": "路线方法",
            **COLUMN_ZH,
        }
        visits = visit_plan.visits.to_pandas()
        visits["reason"] = visits["reason"].map(REASONS)
        path = write_list(
            pa.Table.from_pandas(visits, preserve_index=False),
            out,
            title=f"走访计划 {visit_plan.plan_id}",
            headers_zh=headers,
        )
        console.print(f"导出 exported: {path.resolve()}", soft_wrap=True, highlight=False)


def _read_any(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise YoushuError(f"{path} does not exist")
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"visit_id": str, "result": str})
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype={"visit_id": str, "result": str})
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    raise YoushuError(f"{path}: visit results are read from .csv, .xlsx or .parquet")


@visits_app.command("record")
def record(
    results: Path = typer.Argument(
        ..., help=f"File with visit_id, visited_date, result ({', '.join(RESULTS)})."
    ),
    log_dir: Path = LOG_DIR,
) -> None:
    """Record visit results (fed back into the next plans and into conversion per zone).

    Examples:

      youshu visits record results.csv
    """
    visit_log = _log(get_settings(), log_dir)
    frame = _read_any(results)
    path = visit_log.record(frame)
    console.print(f"已记录 recorded {len(frame):,} results -> {path}", soft_wrap=True, highlight=False)


@visits_app.command("report")
def report(
    plan_id: str = typer.Option(None, "--plan", help="One plan (default: every plan in the log)."),
    log_dir: Path = LOG_DIR,
    later: Path = typer.Option(
        None, "--later-circles", help="Circles of a later date: observed conversion too."
    ),
) -> None:
    """Conversion per zone: visits planned, made and converted (signed prospects, activated merchants).

    Examples:

      youshu visits report --plan O00012-20251001-1 --later-circles runs/2025-12-31/circles
    """
    visit_log = _log(get_settings(), log_dir)
    frame = conversion_by_zone(visit_log, plan_id, load_circles(later) if later else None)
    if frame.empty:
        console.print(f"走访日志为空 no plans in {visit_log.folder}", soft_wrap=True, highlight=False)
        return
    observed = later is not None
    for pid, part in frame.groupby("plan_id", sort=True):
        table = Table(
            "片区 zone",
            "人员 staff",
            "计划 planned",
            "已访 visited",
            "转化 converted",
            "转化率 conversion",
            *(["观察转化率 observed"] if observed else []),
            title=f"走访计划 plan {pid} ({part['outlet_id'].iloc[0]})",
        )
        for r in part.itertuples():
            table.add_row(
                str(r.zone),
                r.staff_id,
                str(r.planned),
                str(int(r.visited)),
                str(int(r.converted)),
                fmt_pct(r.conversion),
                *([fmt_pct(r.observed_conversion)] if observed else []),
            )
        console.print(table)
