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
import pyarrow as pa
import pyarrow.parquet as pq

from youshu import __version__
from youshu.atomic import atomic_dir
from youshu.errors import ValidationFailed, YoushuError
from youshu.pipeline.circles_step import circles_step
from youshu.pipeline.lists_step import lists_step
from youshu.pipeline.models_step import models_step
from youshu.pipeline.registry_step import registry_step
from youshu.pipeline.risk_step import risk_step
from youshu.pipeline.rural_step import rural_step
from youshu.pipeline.sections import summary_sections
from youshu.pipeline.summary import (
    ProvinceSummary,
    data_quality_from,
    province_summary,
    warehouse_row_counts,
)
from youshu.pipeline.tags_step import tags_step
from youshu.reports.html import QualityBadge, Section, render_report

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


#: The steps of a run, in order.
STEPS: list[Step] = [
    Step("summary", summary_step),
    Step("tags", tags_step),
    Step("circles", circles_step),
    Step("risk", risk_step),
    Step("models", models_step),
    Step("lists", lists_step),
    Step("rural", rural_step),
    Step("registry", registry_step),
]
