"""``youshu run`` (every pipeline step as of a date) and ``youshu demo`` (generate a province, run, report)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from youshu import __version__
from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.config import Settings, get_settings
from youshu.errors import YoushuError
from youshu.pipeline.run import RunResult, run_pipeline
from youshu.reports.html import fmt_int, fmt_pct, fmt_wan
from youshu.schema.tables import TABLES

console = Console()
err_console = Console(stderr=True)

DEMO_AS_OF = date(2025, 9, 30)
DEMO_MARKER = "warehouse.params.json"
ENGINES = ("duckdb", "spark")
ProgressFn = Callable[[str, int, int], None]


@contextlib.contextmanager
def _progress(single: str | None = None) -> Iterator[ProgressFn]:
    """A callback drawing progress bars on stderr (library code only sees the callback).

    With ``single`` every stage shares one bar labelled ``"<single> · <stage>"`` (the pipeline reports its
    parts as one count); otherwise each stage gets its own bar (synth stages count their own units).
    """
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        key = single or stage
        label = f"{single} · {stage}" if single else stage
        if key not in tasks:
            tasks[key] = bars.add_task(label, total=total)
        bars.update(tasks[key], description=label, completed=done, total=total)

    with bars:
        yield update


def _settings_for(engine: str | None) -> Settings:
    settings = get_settings()
    if engine is None:
        return settings
    if engine not in ENGINES:
        raise typer.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}", param_hint="--engine"
        )
    return settings.model_copy(update={"engine": engine})


def _day(value: datetime | None, default: date | None, option: str) -> date:
    if value is not None:
        return value.date()
    if default is None:
        raise typer.BadParameter(
            "give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)", param_hint=option
        )
    return default


def _execute(as_of: date, **kwargs: Any) -> RunResult:
    with _progress("run") as progress:
        return run_pipeline(as_of, progress=progress, **kwargs)


@app.command("run")
def run(
    as_of: datetime = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Use data on or before this date (default: as_of in youshu.yaml).",
    ),
    name: str = typer.Option("main", "--name", help="Run name: the folder under runs/<as_of>/."),
    warehouse: Path = typer.Option(
        None, "--warehouse", "-w", help="Canonical warehouse (default from youshu.yaml)."
    ),
    runs_dir: Path = typer.Option(
        None, "--runs-dir", help="Where run folders go (default from youshu.yaml)."
    ),
    engine: str = typer.Option(None, "--engine", help="duckdb or spark (default from youshu.yaml)."),
) -> None:
    """Run every pipeline step as of a date into runs/<as_of>/<name>/ (运行流水线).

    Validates the warehouse first and stops, writing nothing, if it is invalid. The run folder holds
    summary tables (Parquet), summary.json, report.html and run.json, and appears only when the whole run
    succeeded.

    Examples:

      youshu run --as-of 2025-09-30

      youshu run --as-of 2025-06-30 --name q2 --engine spark --warehouse /data/province
    """
    settings = _settings_for(engine)
    day = _day(as_of, settings.as_of, "--as-of")
    result = _execute(day, name=name, settings=settings, warehouse=warehouse, runs_dir=runs_dir)
    console.print(f"运行完成 run written: {result.folder}", soft_wrap=True, highlight=False)
    _print_findings(result)
    _print_timings(result.timings, result.wall_seconds)


@app.command("demo")
def demo(
    customers: int = typer.Option(50_000, "--customers", "-n", help="Customers in the demo province."),
    seed: int = typer.Option(None, "--seed", help="Random seed (default from youshu.yaml)."),
    as_of: datetime = typer.Option(
        DEMO_AS_OF.isoformat(), "--as-of", formats=["%Y-%m-%d"], help="As-of date of the run."
    ),
    out: Path = typer.Option(Path("demo"), "--out", "-o", help="Demo folder: warehouse/ and runs/ go in it."),
    engine: str = typer.Option(None, "--engine", help="duckdb or spark (default from youshu.yaml)."),
) -> None:
    """Generate a demo province, run every pipeline step and write the HTML report (演示).

    The province goes to <out>/warehouse and is reused when one with the same customers and seed is already
    there; the run goes to <out>/runs/<as_of>/main/.

    Examples:

      youshu demo

      youshu demo --customers 1000 --out /tmp/demo

      youshu demo --customers 200000 --seed 7 --as-of 2025-06-30
    """
    settings = _settings_for(engine)
    cfg = settings.synth
    day = _day(as_of, DEMO_AS_OF, "--as-of")
    if not cfg.start_date <= day <= cfg.end_date:
        raise typer.BadParameter(
            f"{day} lies outside the demo data window {cfg.start_date} .. {cfg.end_date}",
            param_hint="--as-of",
        )
    out = out.absolute()
    warehouse = out / "warehouse"
    params = {
        "customers": customers,
        "seed": cfg.seed if seed is None else seed,
        "start_date": cfg.start_date.isoformat(),
        "end_date": cfg.end_date.isoformat(),
        "youshu_version": __version__,
    }
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if _province_matches(out, params):
        console.print(
            f"复用已生成的省份 reusing the province in {warehouse}", soft_wrap=True, highlight=False
        )
    else:
        timings["synth"] = _generate(out, params)
    result = _execute(day, name="main", settings=settings, warehouse=warehouse, runs_dir=out / "runs")
    timings.update(result.timings)
    report = result.report_path.absolute()
    console.print(f"\n报告 report: {report}", soft_wrap=True, highlight=False)
    console.print(f"  {report.as_uri()}", soft_wrap=True, highlight=False)
    _print_findings(result)
    _print_timings(timings, time.perf_counter() - t0)
    console.print(
        "工作台 workbench: youshu users add admin --role admin  then  youshu serve  (http://127.0.0.1:8000)",
        soft_wrap=True,
        highlight=False,
    )


def _province_matches(out: Path, params: dict[str, Any]) -> bool:
    """Whether ``out/warehouse`` is a complete province generated with ``params`` (per the marker file)."""
    marker = out / DEMO_MARKER
    warehouse = out / "warehouse"
    if not marker.is_file() or not warehouse.is_dir():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == params and all((warehouse / spec.name).is_dir() for spec in TABLES))


def _generate(out: Path, params: dict[str, Any]) -> float:
    try:
        from youshu.synth import generate
    except ImportError as exc:  # pragma: no cover - synth ships with youshu
        raise YoushuError(f"the synthetic province generator is not available ({exc})") from exc
    marker = out / DEMO_MARKER
    marker.unlink(missing_ok=True)  # a half-finished regeneration must not look complete
    console.print(
        f"生成演示省份 generating a province of {params['customers']:,} customers "
        f"(seed {params['seed']}) into {out / 'warehouse'}",
        soft_wrap=True,
        highlight=False,
    )
    t = time.perf_counter()
    with _progress() as progress:
        generate(
            out / "warehouse",
            customers=int(params["customers"]),
            seed=int(params["seed"]),
            start_date=date.fromisoformat(params["start_date"]),
            end_date=date.fromisoformat(params["end_date"]),
            progress=progress,
        )
    seconds = time.perf_counter() - t
    with atomic_file(marker) as tmp:
        tmp.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    return seconds


def _print_findings(result: RunResult) -> None:
    s = result.summary
    if s is None:
        return
    h = s.headline()
    lines = [
        f"主要发现 headline findings (as of {s.as_of}, engine {result.engine}):",
        f"  客户 customers: {fmt_int(h['customers'])}; 有效账户 open accounts: {fmt_int(h['open_accounts'])}",
        f"  资产规模 AUM: {fmt_wan(h['aum_fen'])} 万元 (存款 deposits {fmt_wan(h['deposits_fen'])}, "
        f"持仓 holdings {fmt_wan(h['holdings_fen'])}; month end {h['aum_month_end'] or '—'})",
    ]
    if h["top_county"] is not None:
        share = h["top_county_aum_fen"] / h["aum_fen"] if h["aum_fen"] else None
        lines.append(
            f"  AUM最高区县 top county by AUM: {h['top_county']} "
            f"({fmt_wan(h['top_county_aum_fen'])} 万元, {fmt_pct(share)})"
        )
    lines += [
        f"  近30天扫码支付 QR payments, last 30 days: {fmt_int(h['qr_30d_payments'])} 笔, "
        f"{fmt_wan(h['qr_30d_amount_fen'])} 万元, {fmt_int(h['qr_30d_active_merchants'])} 活跃商户 merchants",
        f"  贷款 loans: 余额 outstanding {fmt_wan(h['loans_outstanding_fen'])} 万元; "
        f"逾期 overdue {fmt_pct(h['loans_overdue_share'], 2)}, 不良 defaulted {fmt_pct(h['loans_defaulted_share'], 2)}",
        f"  营销活动 campaigns: 核销率 coupon redemption {fmt_pct(h['coupon_redemption_rate'])}; "
        f"转化率 referral rate treatment {fmt_pct(h['referral_rate_treatment'])} vs control "
        f"{fmt_pct(h['referral_rate_control'])} (raw rates, not causal)",
    ]
    if s.data_quality is not None:
        dq = s.data_quality
        lines.append(
            f"  数据质量 data quality: {'通过 passed' if dq.ok else '未通过 failed'}, "
            f"{dq.problem_count} problem(s)"
        )
    tags = result.results.get("tags")
    if tags is not None:
        counts = ", ".join(f"{n:,} {entity}s" for entity, n in tags.rows.items())
        lines.append(
            f"  标签 tags: {len(tags.tagset)} applied to {counts}; 目录 catalogue: "
            f"{(result.folder / tags.catalogue_html).absolute()}"
        )
        lines.append("  重点标签 key tags: " + ", ".join(f"{zh} {n:,}" for _, _, zh, n, _ in tags.key_tags()))
    lines += _model_lines(result.results)
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


def _model_lines(results: dict[str, Any]) -> list[str]:
    """Headline lines of the risk, models and lists steps (those that ran and produced something)."""
    lines = []
    risk = results.get("risk")
    if risk is not None:
        flagged = int(risk["flags"]["is_risky_account"].sum())
        text = f"  风险账户 risky accounts: 今日预警 {len(risk['alerts']):,} alerts, 风险账户客户 {flagged:,} customers flagged"
        v = risk.get("validation")
        if v is not None and len(v):
            row = v.iloc[0]
            text += f"; 跨时间验证 out-of-time PR-AUC {row['pr_auc']:.3f} (base rate {row['positives'] / row['rows']:.4f})"
        lines.append(text)
    wealth = results.get("wealth")
    if wealth is not None:
        lines.append(
            f"  理财倾向 wealth propensity: 跨时间 out-of-time AUC {wealth.model.roc_auc:.3f} "
            f"(按AUM排序 rank by AUM {wealth.baseline.roc_auc:.3f}), 前10%提升 top-decile lift "
            f"{wealth.model.top_decile_lift:.1f}"
        )
    lists = results.get("lists")
    if lists is not None:
        outlets = len(set(lists.lists.column("outlet_id").to_pylist()))
        lines.append(
            f"  营销名单 target list: {lists.lists.num_rows:,} customers in {outlets:,} outlets; 剔除 excluded "
            f"风险账户 {lists.excluded.get('risky_account', 0):,}, 冷静期 declined {lists.excluded.get('declined_recently', 0):,}"
        )
    rural = results.get("rural")
    if rural is not None:
        stages = rural.members["chain_stage_zh"].value_counts().to_dict() if len(rural.members) else {}
        chosen = 0 if rural.selection is None else len(rural.selection.lists)
        lines.append(
            f"  一县一品 rural: 产业链客户 chain customers {len(rural.members):,} "
            f"({', '.join(f'{k} {v:,}' for k, v in sorted(stages.items()))}); 入选 selected {chosen:,}"
        )
    registered = results.get("registry")
    if registered:
        shown = ", ".join(f"{r.name} v{r.version} ({'/'.join(r.aliases) or '-'})" for r in registered)
        lines.append(f"  模型登记 registry: {shown}")
    return lines


def _print_timings(timings: dict[str, float], total: float) -> None:
    parts = " · ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
    console.print(f"耗时 elapsed: {parts} · total {total:.1f} s", soft_wrap=True, highlight=False)
