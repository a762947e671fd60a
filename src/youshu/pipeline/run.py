"""A pipeline run: validate, run each step as of a date, write ``runs/<as_of>/<name>/`` atomically with a report.

A step is a named function taking a :class:`RunContext` and returning report sections; it may write files into
``ctx.out_dir`` and leave results for later steps in ``ctx.results``. Later issues append steps (tags, models,
lists) to :data:`STEPS`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq

from youshu import __version__
from youshu.atomic import atomic_dir
from youshu.errors import ValidationFailed, YoushuError
from youshu.pipeline.summary import (
    REST_ID,
    DataQuality,
    ProvinceSummary,
    data_quality_from,
    province_summary,
    warehouse_row_counts,
)
from youshu.reports.html import (
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Note,
    QualityBadge,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
    fmt_wan,
    render_report,
)

if TYPE_CHECKING:
    from youshu.config import Settings
    from youshu.engine import Engine

__all__ = [
    "STEPS",
    "RunContext",
    "RunResult",
    "Step",
    "run_pipeline",
    "summary_sections",
    "summary_step",
    "write_frame",
]

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
REPORT_FILE = "report.html"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
REPORT_TITLE = "邮数 省份经营概览"
REPORT_SUBTITLE = "youshu province report"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class RunContext:
    """What a step sees: the engine, the warehouse, the as-of date and the run's (temporary) output folder.

    Attributes
    ----------
    engine : Engine
        Where expressions run.
    warehouse : Path
        The canonical warehouse (read only; never its ``truth/`` folder).
    as_of : date
        Steps use data on or before this date only.
    name : str
        The run name.
    out_dir : Path
        Folder that becomes ``runs/<as_of>/<name>/`` when every step succeeds.
    validation : object
        The validation report of the warehouse (``.ok``, ``.problems``).
    row_counts : dict of str to int
        Rows per canonical table.
    results : dict
        Values steps hand to later steps (e.g. ``results["summary"]``).
    sections : list of Section
        The report sections of the steps run so far.
    """

    engine: Engine
    warehouse: Path
    as_of: date
    name: str
    out_dir: Path
    validation: Any
    row_counts: dict[str, int]
    results: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)


StepFunction = Callable[[RunContext], Sequence[Section]]


@dataclass(frozen=True)
class Step:
    """A named pipeline step (``name`` is used for timings and progress)."""

    name: str
    run: StepFunction


@dataclass(frozen=True)
class RunResult:
    """What a run wrote and how long each part took.

    Attributes
    ----------
    folder : Path
        ``runs/<as_of>/<name>/`` (absolute).
    timings : dict of str to float
        Seconds per part: ``validate``, each step, ``report``.
    results : dict
        What the steps left in ``RunContext.results`` (``"summary"``: :class:`ProvinceSummary`).
    """

    folder: Path
    as_of: date
    name: str
    engine: str
    timings: dict[str, float]
    wall_seconds: float
    results: dict[str, Any]

    @property
    def report_path(self) -> Path:
        """The HTML report."""
        return self.folder / REPORT_FILE

    @property
    def summary(self) -> ProvinceSummary | None:
        """The province summary, when the summary step ran."""
        value = self.results.get("summary")
        return value if isinstance(value, ProvinceSummary) else None


def run_pipeline(
    as_of: date,
    *,
    name: str = "main",
    settings: Settings | None = None,
    engine: Engine | None = None,
    warehouse: Path | None = None,
    runs_dir: Path | None = None,
    steps: Sequence[Step] | None = None,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Validate the warehouse, run every step as of ``as_of`` and write the run folder atomically.

    The folder ``runs_dir/<as_of>/<name>/`` holds ``summary/*.parquet``, ``summary.json``, ``report.html`` and
    ``run.json``; it appears only when everything succeeded (a rerun replaces it whole) and nothing outside it
    changes. Outputs are deterministic: a rerun on the same data gives identical files except the
    ``timing`` fields of ``run.json``.

    Parameters
    ----------
    as_of : date
        Use data on or before this date only.
    name : str
        Run name (letters, digits, ``_.-``); the folder under the date.
    settings : Settings, optional
        Project settings (default: ``youshu.config.get_settings()``) for the defaults below.
    engine : Engine, optional
        An open engine; by default one is opened from the settings (DuckDB in memory, or Spark) and closed.
    warehouse, runs_dir : Path, optional
        Default from the settings.
    steps : sequence of Step, optional
        Default :data:`STEPS`.
    progress : callable, optional
        Called as ``progress(part, done, total)`` before and after each part.

    Returns
    -------
    RunResult

    Raises
    ------
    ValidationFailed
        When the warehouse breaks the canonical schema; nothing is written.
    YoushuError
        When the warehouse folder does not exist or the run name is not usable as a folder name.

    Examples
    --------
    >>> result = run_pipeline(date(2025, 9, 30), warehouse=Path("demo/warehouse"),  # doctest: +SKIP
    ...                       runs_dir=Path("demo/runs"))
    >>> result.report_path  # doctest: +SKIP
    PosixPath('.../demo/runs/2025-09-30/main/report.html')
    """
    if not _NAME.match(name):
        raise YoushuError(
            f"run name {name!r} is not usable as a folder name; use letters, digits, '_', '.', '-'"
        )
    if settings is None and (warehouse is None or runs_dir is None or engine is None):
        from youshu.config import get_settings

        settings = get_settings()
    if warehouse is None:
        assert settings is not None
        warehouse = settings.resolve(settings.warehouse)
    if runs_dir is None:
        assert settings is not None
        runs_dir = settings.resolve(settings.runs_dir)
    warehouse, runs_dir = Path(warehouse).absolute(), Path(runs_dir).absolute()
    if not warehouse.is_dir():
        raise YoushuError(
            f"warehouse {warehouse} does not exist; generate one with `youshu synth --out {warehouse}` "
            "or set warehouse in youshu.yaml"
        )
    chosen = list(STEPS if steps is None else steps)
    notify = progress or (lambda part, done, total: None)
    total = len(chosen) + 2
    started_at = datetime.now().astimezone()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    notify("validate", 0, total)
    t = time.perf_counter()
    validation = _validate(warehouse)
    row_counts = warehouse_row_counts(warehouse)
    timings["validate"] = time.perf_counter() - t
    notify("validate", 1, total)

    own_engine = engine is None
    if engine is None:
        assert settings is not None
        engine = _open_engine(settings)
    dest = runs_dir / as_of.isoformat() / name
    created = [p for p in (runs_dir, dest.parent) if not p.exists()]
    ctx: RunContext | None = None
    try:
        with atomic_dir(dest) as tmp:
            ctx = RunContext(engine, warehouse, as_of, name, tmp, validation, row_counts)
            _run_steps(ctx, chosen, timings, notify, total)
            notify("report", total - 1, total)
            t = time.perf_counter()
            _write_report(ctx, ctx.sections)
            timings["report"] = time.perf_counter() - t
            wall = time.perf_counter() - t0
            _write_run_json(ctx, engine.name, chosen, timings, started_at, wall)
            notify("report", total, total)
    except BaseException:
        for folder in reversed(created):  # leave no empty runs/<as_of>/ behind
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    finally:
        if own_engine:
            engine.close()
    assert ctx is not None
    return RunResult(dest, as_of, name, engine.name, timings, wall, ctx.results)


def _run_steps(
    ctx: RunContext, steps: Sequence[Step], timings: dict[str, float], notify: ProgressFn, total: int
) -> None:
    for i, step in enumerate(steps, start=1):
        notify(step.name, i, total)
        t = time.perf_counter()
        log.info("run %s as of %s: step %s", ctx.name, ctx.as_of, step.name)
        ctx.sections.extend(step.run(ctx))
        timings[step.name] = time.perf_counter() - t
        notify(step.name, i + 1, total)


def _validate(warehouse: Path) -> Any:
    from youshu.schema.validate import validate_warehouse

    # The warehouse legitimately holds data after the as-of date (the label window of later models); every
    # step filters by date itself, so the date_after_as_of rule is for exports, not for a run.
    report = validate_warehouse(warehouse)
    if not report.ok:
        problems = list(report.problems)
        raise ValidationFailed(
            f"warehouse {warehouse} is not valid ({len(problems)} problem(s)); "
            f"fix the data or re-import it, then run again:\n{report.to_text()}",
            report,
        )
    return report


def _open_engine(settings: Settings) -> Engine:
    from youshu.engine import connect, connect_from_settings

    if settings.engine == "duckdb":
        # In memory: a run only reads Parquet, and must not touch anything outside its folder.
        return connect("duckdb", memory_limit=settings.duckdb_memory_limit)
    return connect_from_settings(settings)


def _write_report(ctx: RunContext, sections: Sequence[Section]) -> None:
    summary = ctx.results.get("summary")
    window = (summary.data_start, summary.data_end) if isinstance(summary, ProvinceSummary) else None
    ok = bool(getattr(ctx.validation, "ok", True))
    badge = QualityBadge(
        ok, "数据校验通过" if ok else "数据校验未通过", "validation passed" if ok else "validation failed"
    )
    html = render_report(
        sections,
        title=REPORT_TITLE,
        subtitle_en=REPORT_SUBTITLE,
        as_of=ctx.as_of,
        data_window=window,
        quality=badge,
    )
    (ctx.out_dir / REPORT_FILE).write_text(html, encoding="utf-8")


def _write_run_json(
    ctx: RunContext,
    engine: str,
    steps: Sequence[Step],
    timings: dict[str, float],
    started: datetime,
    wall: float,
) -> None:
    record = {
        "as_of": ctx.as_of.isoformat(),
        "name": ctx.name,
        "youshu_version": __version__,
        "engine": engine,
        "warehouse": str(ctx.warehouse),
        "steps": [s.name for s in steps],
        "table_rows": ctx.row_counts,
        "outputs": sorted(
            p.relative_to(ctx.out_dir).as_posix() for p in ctx.out_dir.rglob("*") if p.is_file()
        ),
        # Everything under "timing" changes between reruns; everything else is deterministic.
        "timing": {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "wall_seconds": round(wall, 3),
            "step_seconds": {k: round(v, 3) for k, v in timings.items()},
        },
    }
    _write_json(ctx.out_dir / RUN_FILE, record)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Write a small DataFrame as one Parquet file, byte-identical for identical frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, compression="zstd")


# ------------------------------------------------------------------------------------------ summary step


def summary_step(ctx: RunContext) -> list[Section]:
    """Compute the province summary, write ``summary/*.parquet`` and ``summary.json``, return its sections."""
    dq = data_quality_from(ctx.validation, ctx.row_counts)
    summary = province_summary(ctx.engine, ctx.warehouse, ctx.as_of, data_quality=dq)
    ctx.results["summary"] = summary
    for table_name, frame in summary.tables().items():
        write_frame(frame, ctx.out_dir / "summary" / f"{table_name}.parquet")
    _write_json(ctx.out_dir / SUMMARY_FILE, summary.to_dict())
    return summary_sections(summary)


#: The steps of a run, in order. Later issues append theirs (tags, models, lists).
STEPS: list[Step] = [Step("summary", summary_step)]


def _wan(fen: int | None) -> str:
    return fmt_wan(fen)


def _bar(x: Sequence[Any], y: Sequence[Any], name: str = "", **kwargs: Any) -> go.Bar:
    return go.Bar(x=list(x), y=list(y), name=name, **kwargs)


def _zh_en(frame: pd.DataFrame, key: str = "key") -> list[str]:
    return [f"{zh}<br>{en}" for zh, en in zip(frame["name_zh"], frame[key], strict=True)]


def summary_sections(s: ProvinceSummary) -> list[Section]:
    """The report sections of a province summary (aggregates only: no customer appears in them)."""
    return [
        _overview(s),
        _aum_section(s),
        _customers_section(s),
        _flows_section(s),
        _merchants_section(s),
        _campaigns_section(s),
        _loans_section(s),
        _kpi_section(s),
        _quality_section(s.data_quality),
    ]


def _overview(s: ProvinceSummary) -> Section:
    c = s.counts
    kpis = [
        Kpi("客户数", "customers onboarded", fmt_int(c.customers), "户"),
        Kpi("有效账户", "open accounts", fmt_int(c.open_accounts), "户"),
        Kpi(
            "资产规模 AUM",
            "deposits + holdings",
            _wan(s.aum.total_fen),
            "万元",
            f"月末 {s.aum.month_end or '—'}",
        ),
        Kpi("区县 / 网点", "counties / outlets", f"{c.counties:,} / {c.outlets:,}"),
        Kpi(
            "收单商户",
            "acquired merchants",
            fmt_int(c.merchants_acquired),
            "户",
            f"潜在商户 prospects {c.merchant_prospects:,}",
        ),
        Kpi(
            "近30天扫码笔数",
            "QR payments, last 30 days",
            fmt_int(s.merchants.qr_30d_payments),
            "笔",
            f"金额 {_wan(s.merchants.qr_30d_amount_fen)} 万元",
        ),
        Kpi("贷款余额", "loans outstanding", _wan(s.loans.outstanding_fen), "万元"),
        Kpi(
            "逾期+不良占比",
            "overdue + defaulted share",
            fmt_pct(_sum_share(s.loans.overdue_share, s.loans.defaulted_share)),
        ),
    ]
    note = Note(
        f"所有指标仅使用截至 {s.as_of} 的数据；金额单位为万元。",
        f"Every figure uses data up to {s.as_of} only; money in 万元 (10,000 yuan).",
    )
    return Section("overview", "省份概览", "Province overview", [KpiGrid(kpis), note])


def _sum_share(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def _aum_section(s: ProvinceSummary) -> Section:
    a = s.aum
    kpis = KpiGrid(
        [
            Kpi("资产规模", "AUM", _wan(a.total_fen), "万元", f"月末 month end {a.month_end or '—'}"),
            Kpi("存款", "deposits", _wan(a.deposits_fen), "万元"),
            Kpi("理财等持仓", "product holdings", _wan(a.holdings_fen), "万元"),
        ]
    )
    months = [d.isoformat() for d in a.trend["month_end_date"]]
    trend = go.Figure(
        [
            _bar(months, a.trend["deposits_fen"] / 1e6, "存款 deposits"),
            _bar(months, a.trend["holdings_fen"] / 1e6, "持仓 holdings"),
        ]
    )
    trend.update_layout(barmode="stack", yaxis_title="万元", xaxis_type="category")
    counties = a.by_county
    # The chart compares the top counties with each other; the "rest" row (all others summed) would dwarf
    # them, so it stays in the table only.
    top = counties[counties["county_id"] != REST_ID]
    labels = list(top["county_name"])
    by_county = go.Figure(
        [
            _bar(labels, top["deposits_fen"] / 1e6, "存款 deposits"),
            _bar(labels, top["holdings_fen"] / 1e6, "持仓 holdings"),
        ]
    )
    by_county.update_layout(barmode="stack", yaxis_title="万元", xaxis_type="category")
    table = TableBlock(
        counties,
        [
            Column("county_name", "区县", "county"),
            Column("city_name", "地市", "city"),
            Column("customers", "客户数", "customers", "int"),
            Column("deposits_fen", "存款(万元)", "deposits", "wan"),
            Column("holdings_fen", "持仓(万元)", "holdings", "wan"),
            Column("aum_fen", "AUM(万元)", "AUM", "wan"),
            Column("aum_share", "占比", "share", "pct"),
        ],
        "各区县资产规模",
        "AUM by county (top 10 and the rest)",
    )
    return Section(
        "aum",
        "资产规模",
        "Assets under management",
        [
            kpis,
            FigureBlock(trend, "近12个月资产规模", "AUM, last 12 month ends"),
            FigureBlock(by_county, "AUM前十区县", "top counties by AUM"),
            table,
        ],
    )


def _customers_section(s: ProvinceSummary) -> Section:
    mix = s.customers
    age = go.Figure([_bar(mix.by_age_band["name_zh"], mix.by_age_band["customers"], "客户 customers")])
    age.update_layout(xaxis_type="category", yaxis_title="户")
    gender = go.Figure(
        [
            go.Pie(
                labels=list(mix.by_gender["name_zh"]),
                values=list(mix.by_gender["customers"]),
                sort=False,
                hole=0.45,
            )
        ]
    )
    occ = mix.by_occupation
    occupation = go.Figure([_bar(_zh_en(occ), occ["customers"], "客户 customers")])
    occupation.update_layout(xaxis_type="category", yaxis_title="户")
    return Section(
        "customers",
        "客户结构",
        "Customers",
        [
            KpiGrid([Kpi("客户数", "customers onboarded", fmt_int(s.counts.customers), "户")]),
            FigureBlock(age, "年龄分布", "by age band (age on the as-of date)"),
            FigureBlock(gender, "性别", "by gender", height=300),
            FigureBlock(occupation, "职业", "by occupation"),
        ],
    )


def _flow_columns() -> list[Column]:
    return [
        Column("name_zh", "类别", "category"),
        Column("key", "代码", "code"),
        Column("txn_count", "笔数", "transactions", "int"),
        Column("in_fen", "流入(万元)", "in", "wan"),
        Column("out_fen", "流出(万元)", "out", "wan"),
        Column("amount_fen", "合计(万元)", "total", "wan"),
    ]


def _flows_section(s: ProvinceSummary) -> Section:
    f = s.flows
    cat = f.by_category
    fig = go.Figure(
        [
            _bar(cat["name_zh"], cat["in_fen"] / 1e6, "流入 in"),
            _bar(cat["name_zh"], cat["out_fen"] / 1e6, "流出 out"),
        ]
    )
    fig.update_layout(barmode="group", yaxis_title="万元", xaxis_type="category")
    chan = f.by_channel
    return Section(
        "transactions",
        "资金流向",
        "Money flows",
        [
            KpiGrid(
                [
                    Kpi(
                        "交易笔数",
                        "transactions",
                        fmt_int(f.txn_count),
                        "笔",
                        f"{f.window_start} – {f.window_end}",
                    ),
                    Kpi("交易金额", "amount", _wan(f.amount_fen), "万元"),
                ]
            ),
            FigureBlock(fig, "近90天按对手方类别", "last 90 days by counterparty category"),
            TableBlock(cat, _flow_columns(), "按对手方类别", "by counterparty category"),
            TableBlock(
                chan,
                [c if c.key != "name_zh" else Column("name_zh", "渠道", "channel") for c in _flow_columns()],
                "按渠道",
                "by channel",
            ),
        ],
    )


def _merchants_section(s: ProvinceSummary) -> Section:
    m = s.merchants
    cats = m.by_category
    by_cat = go.Figure(
        [
            _bar(cats["name_zh"], cats["acquired"], "收单商户 acquired"),
            _bar(cats["name_zh"], cats["prospects"], "潜在商户 prospects"),
        ]
    )
    by_cat.update_layout(barmode="stack", yaxis_title="户", xaxis_type="category")
    weekly = m.qr_weekly
    weeks = [d.isoformat() for d in weekly["week_end"]]
    qr = go.Figure(
        [
            _bar(weeks, weekly["amount_fen"] / 1e6, "金额(万元) amount"),
            go.Scatter(
                x=weeks, y=list(weekly["payments"]), name="笔数 payments", yaxis="y2", mode="lines+markers"
            ),
        ]
    )
    qr.update_layout(
        xaxis_type="category",
        yaxis_title="万元",
        yaxis2={"title": "笔", "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )
    table = TableBlock(
        cats,
        [
            Column("name_zh", "商户类别", "category"),
            Column("category", "代码", "code"),
            Column("acquired", "收单商户", "acquired", "int"),
            Column("prospects", "潜在商户", "prospects", "int"),
            Column("qr_payments_90d", "近90天扫码笔数", "QR payments, 90 days", "int"),
            Column("qr_amount_fen_90d", "近90天扫码金额(万元)", "QR amount, 90 days", "wan"),
        ],
        "按类别",
        "by category",
    )
    return Section(
        "merchants",
        "商户与收单",
        "Merchants and QR payments",
        [
            KpiGrid(
                [
                    Kpi("收单商户", "acquired merchants", fmt_int(s.counts.merchants_acquired), "户"),
                    Kpi("潜在商户", "prospects", fmt_int(s.counts.merchant_prospects), "户"),
                    Kpi("近30天扫码笔数", "QR payments, last 30 days", fmt_int(m.qr_30d_payments), "笔"),
                    Kpi("近30天扫码金额", "QR amount, last 30 days", _wan(m.qr_30d_amount_fen), "万元"),
                    Kpi(
                        "近30天活跃商户",
                        "active merchants, 30 days",
                        fmt_int(m.qr_30d_active_merchants),
                        "户",
                    ),
                ]
            ),
            FigureBlock(by_cat, "商户类别", "merchants by category"),
            FigureBlock(qr, "近12周扫码支付", "QR payments per week, last 12 weeks (week ending)"),
            table,
        ],
    )


def _campaigns_section(s: ProvinceSummary) -> Section:
    c = s.campaigns
    table = TableBlock(
        c.by_campaign,
        [
            Column("campaign_name", "活动", "campaign"),
            Column("campaign_type_zh", "类型", "type"),
            Column("start_date", "开始", "start", "date"),
            Column("end_date", "结束", "end", "date"),
            Column("treatment", "实验组", "treatment", "int"),
            Column("control", "对照组", "control", "int"),
            Column("coupons_issued", "发券", "coupons issued", "int"),
            Column("coupons_redeemed", "核销", "redeemed", "int"),
            Column("redemption_rate", "核销率", "redemption rate", "pct"),
            Column("referral_rate_treatment", "实验组转化率", "referral rate, treatment", "pct"),
            Column("referral_rate_control", "对照组转化率", "referral rate, control", "pct"),
        ],
        "截至当日已开始的活动",
        "campaigns started by the as-of date",
    )
    note = Note(
        "以下为各组原始比率，仅作描述，不代表活动的因果效果。",
        "Raw rates per group, descriptive only: differences between groups are not causal estimates.",
        kind="warning",
    )
    return Section(
        "campaigns",
        "营销活动",
        "Campaigns",
        [
            KpiGrid(
                [
                    Kpi(
                        "活动客群",
                        "campaign members",
                        fmt_int(c.members),
                        "人",
                        f"实验组 {c.treatment:,} / 对照组 {c.control:,}",
                    ),
                    Kpi(
                        "发券 / 核销",
                        "coupons issued / redeemed",
                        f"{c.coupons_issued:,} / {c.coupons_redeemed:,}",
                    ),
                    Kpi("核销率", "redemption rate", fmt_pct(c.redemption_rate)),
                    Kpi("转化率 实验组", "referral rate, treatment", fmt_pct(c.referral_rate_treatment)),
                    Kpi("转化率 对照组", "referral rate, control", fmt_pct(c.referral_rate_control)),
                ]
            ),
            note,
            table,
        ],
    )


def _loans_section(s: ProvinceSummary) -> Section:
    ln = s.loans
    table = TableBlock(
        ln.by_product,
        [
            Column("name_zh", "贷款产品", "product"),
            Column("product", "代码", "code"),
            Column("loans", "在贷笔数", "loans", "int"),
            Column("outstanding_fen", "余额(万元)", "outstanding", "wan"),
            Column("overdue_loans", "逾期笔数", "overdue", "int"),
            Column("overdue_fen", "逾期余额(万元)", "overdue", "wan"),
            Column("defaulted_loans", "不良笔数", "defaulted", "int"),
            Column("defaulted_fen", "不良余额(万元)", "defaulted", "wan"),
        ],
        "按产品",
        "by product",
    )
    note = Note(
        "逾期：截至当日有到期未足额还款的期次；不良：最早未还期次逾期超过90天。余额按未还计划比例折算本金。",
        "Overdue: an instalment due before the as-of date unpaid by it; defaulted: the oldest such instalment "
        "more than 90 days past due. Outstanding = principal × unpaid share of the schedule.",
    )
    return Section(
        "loans",
        "贷款质量",
        "Loans",
        [
            KpiGrid(
                [
                    Kpi("在贷笔数", "loans outstanding", fmt_int(ln.loans), "笔"),
                    Kpi("贷款余额", "outstanding principal", _wan(ln.outstanding_fen), "万元"),
                    Kpi("逾期占比", "overdue share (balance)", fmt_pct(ln.overdue_share, 2)),
                    Kpi("不良占比", "defaulted share (balance)", fmt_pct(ln.defaulted_share, 2)),
                ]
            ),
            table,
            note,
        ],
    )


def _kpi_section(s: ProvinceSummary) -> Section:
    k = s.kpis.copy()
    money = k["metric"].astype(str).str.endswith("_fen") if not k.empty else pd.Series(dtype=bool)
    k["target_text"] = [_wan(v) if m else fmt_int(v) for v, m in zip(k["target_value"], money, strict=True)]
    k["actual_text"] = [_wan(v) if m else fmt_int(v) for v, m in zip(k["actual_value"], money, strict=True)]
    k["period"] = [f"{a} – {b}" for a, b in zip(k["period_start"], k["period_end"], strict=True)]
    table = TableBlock(
        k,
        [
            Column("period", "考核期", "period"),
            Column("name_zh", "指标", "metric"),
            Column("outlets", "网点数", "outlets", "int"),
            Column("target_text", "目标", "target"),
            Column("actual_text", "完成", "achieved to date"),
            Column("achievement", "完成率", "achievement", "pct"),
            Column("period_elapsed", "时间进度", "period elapsed", "pct"),
        ],
        "包含当日的考核期",
        "periods containing the as-of date (targets summed over outlets)",
    )
    blocks: list[Any] = [table]
    if k.empty:
        blocks = [Note("当日不在任何考核期内。", "No KPI period contains the as-of date.")]
    return Section("kpis", "考核进度", "KPI targets", blocks)


def _quality_section(dq: DataQuality | None) -> Section:
    if dq is None:
        return Section("data-quality", "数据质量", "Data quality", [Note("未校验。", "Not validated.")])
    status = Note(
        f"校验{'通过' if dq.ok else '未通过'}，发现 {dq.problem_count} 个问题。",
        f"Validation {'passed' if dq.ok else 'failed'} with {dq.problem_count} problem(s).",
        kind="info" if dq.ok and dq.problem_count == 0 else "warning",
    )
    blocks: list[Any] = [status]
    if dq.messages:
        frame = pd.DataFrame({"message": list(dq.messages)})
        blocks.append(
            TableBlock(frame, [Column("message", "问题", "problem")], "问题清单", "problems (first 20)")
        )
    blocks.append(
        TableBlock(
            dq.row_counts,
            [
                Column("table", "表", "table"),
                Column("name_zh", "中文名", "name"),
                Column("rows", "行数", "rows (all dates)", "int"),
            ],
            "各表行数",
            "rows per canonical table",
        )
    )
    return Section("data-quality", "数据质量", "Data quality", blocks)
