"""``youshu report``: say where a run's HTML report is (latest run by default), open it, or rerun first."""

from __future__ import annotations

import webbrowser
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console

from youshu.cli.main import app
from youshu.cli.run import _execute, _print_findings, _print_timings, _settings_for
from youshu.errors import YoushuError
from youshu.pipeline.run import REPORT_FILE

console = Console()

#: Where ``youshu demo`` puts its runs by default (``--out demo``); looked in when the project has no runs.
DEMO_RUNS = Path("demo") / "runs"


def run_reports(runs_dir: Path, name: str) -> dict[date, Path]:
    """The reports of runs called ``name`` under ``runs_dir``, by as-of date (``runs/<as_of>/<name>/report.html``).

    Folders whose name is not a date, and runs without a report, are left out.
    """
    found: dict[date, Path] = {}
    if not runs_dir.is_dir():
        return found
    for day_dir in runs_dir.iterdir():
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            continue
        report = day_dir / name / REPORT_FILE
        if report.is_file():
            found[day] = report.absolute()
    return found


def find_report(runs_dirs: list[Path], as_of: date | None, name: str) -> Path:
    """The report of run ``name`` as of ``as_of`` (the latest date when None) in the first folder that has runs.

    Raises
    ------
    YoushuError
        When no folder holds a run called ``name``, or none as of ``as_of``; the message lists the dates there
        are and says how to make a run.
    """
    for runs_dir in runs_dirs:
        reports = run_reports(runs_dir, name)
        if not reports:
            continue
        if as_of is None:
            return reports[max(reports)]
        if as_of in reports:
            return reports[as_of]
        dates = ", ".join(d.isoformat() for d in sorted(reports))
        raise YoushuError(
            f"no run {name!r} as of {as_of} in {runs_dir.absolute()} (runs as of: {dates}); "
            f"run youshu run --as-of {as_of} --name {name}, or rerun with youshu report --rerun --as-of {as_of}"
        )
    where = " or ".join(str(d.absolute()) for d in runs_dirs)
    raise YoushuError(
        f"no run {name!r} with a {REPORT_FILE} in {where}; run youshu demo or youshu run --as-of YYYY-MM-DD "
        f"--name {name} first (or give --runs-dir)"
    )


@app.command("report")
def report(
    as_of: datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="The run's as-of date (default: the latest run)."
    ),
    name: str = typer.Option("main", "--name", help="Run name: the folder under runs/<as_of>/."),
    open_it: bool = typer.Option(False, "--open", help="Open the report in the default web browser."),
    rerun: bool = typer.Option(
        False, "--rerun", help="Run the pipeline first (as youshu run), then show the new report."
    ),
    runs_dir: Path = typer.Option(
        None,
        "--runs-dir",
        help=f"Where run folders are (default from youshu.yaml; then {DEMO_RUNS}, where youshu demo writes).",
    ),
    warehouse: Path = typer.Option(
        None, "--warehouse", "-w", help="With --rerun: the canonical warehouse (default from youshu.yaml)."
    ),
    engine: str = typer.Option(
        None, "--engine", help="With --rerun: duckdb or spark (default from youshu.yaml)."
    ),
) -> None:
    """Show where a run's self-contained HTML report is, open it, or rerun the pipeline first (报告).

    Prints the path and file:// URL of runs/<as_of>/<name>/report.html (the latest run when no date is given).
    The report embeds its chart library and needs no network.

    Examples:

      youshu report

      youshu report --as-of 2025-09-30 --open

      youshu report --rerun --as-of 2025-09-30 --name q3
    """
    settings = _settings_for(engine)
    day = None if as_of is None else as_of.date()
    configured = settings.resolve(settings.runs_dir)
    if rerun:
        folder = runs_dir if runs_dir is not None else configured
        if day is None:
            day = settings.as_of
        if day is None:
            reports = run_reports(folder, name)
            if not reports:
                raise typer.BadParameter(
                    "give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)",
                    param_hint="--as-of",
                )
            day = max(reports)
        result = _execute(day, name=name, settings=settings, warehouse=warehouse, runs_dir=folder)
        _print_findings(result)
        _print_timings(result.timings, result.wall_seconds)
        path = result.report_path.absolute()
    else:
        folders = [runs_dir] if runs_dir is not None else [configured, DEMO_RUNS]
        path = find_report(folders, day, name)
    uri = path.as_uri()
    console.print(f"报告 report: {path}", soft_wrap=True, highlight=False)
    console.print(f"  {uri}", soft_wrap=True, highlight=False)
    if open_it and not webbrowser.open(uri):
        console.print(
            "没有可用的浏览器 no web browser could be started here; open the file:// address above yourself",
            soft_wrap=True,
            highlight=False,
        )
