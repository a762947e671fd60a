"""``youshu risk train|score|alerts|drift``: risky-account detection and risk situational awareness."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.cli.progress import progress_bar
from youshu.config import get_settings
from youshu.engine import connect_from_settings
from youshu.errors import YoushuError
from youshu.features.risk import EdgeColumns, read_edge_list
from youshu.models.risk import (
    RiskModel,
    account_frame,
    awareness_summary,
    build_alerts,
    edge_list_frame,
    export_alerts,
    fit_risk_model,
    label_accounts,
    load_rules,
    read_cases,
    write_customer_flags,
)
from youshu.models.risk.evaluate import collect_frames, date_range, evaluate_time_split

risk_app = typer.Typer(help="Risky accounts (风险账户): train, score, alerts, drift.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")
console = Console()
DATE = ["%Y-%m-%d"]


def _day(value: datetime | None, what: str) -> date:
    if value is None:
        raise YoushuError(f"give {what} as YYYY-MM-DD")
    return value.date()


def _warehouse(warehouse: Path | None) -> Path:
    settings = get_settings()
    return warehouse or settings.resolve(settings.warehouse)


def _rules_file() -> Path | None:
    settings = get_settings()
    path = settings.resolve(settings.definitions_dir) / "risk" / "rules.yml"
    return path if path.is_file() else None


@risk_app.command("train")
def train(
    labels: Path = typer.Option(
        ..., "--labels", help="Confirmed cases: account_id, active_from, active_to (Parquet/CSV)."
    ),
    train_from: datetime = typer.Option(..., "--train-from", formats=DATE, help="First training as-of date."),
    train_to: datetime = typer.Option(..., "--train-to", formats=DATE, help="Last training as-of date."),
    every: int = typer.Option(14, "--every", help="Days between as-of dates."),
    test_from: datetime = typer.Option(
        None, "--test-from", formats=DATE, help="First test as-of date (optional)."
    ),
    test_to: datetime = typer.Option(None, "--test-to", formats=DATE, help="Last test as-of date."),
    out: Path = typer.Option(Path("models/risk"), "--out", "-o", help="Model folder to write."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
    no_graph: bool = typer.Option(False, "--no-graph", help="Leave the transfer-graph features out."),
) -> None:
    """Train the risk model on confirmed cases; with test dates, also evaluate it out of time.

    On a synthetic province the planted cases are WAREHOUSE/truth/risky_accounts (evaluation only).

    Examples:

      youshu risk train --labels cases.csv --train-from 2025-01-31 --train-to 2025-06-30 -o models/risk

      youshu risk train --labels data/warehouse/truth/risky_accounts --train-from 2024-10-31 --train-to 2025-06-30 --test-from 2025-08-15 --test-to 2025-12-31
    """
    wh = _warehouse(warehouse)
    cases = read_cases(labels)
    rules = load_rules(_rules_file())
    train_dates = date_range(_day(train_from, "--train-from"), _day(train_to, "--train-to"), every)
    with connect_from_settings(get_settings()) as eng, progress_bar() as progress:
        if test_from is not None:
            test_dates = date_range(_day(test_from, "--test-from"), _day(test_to, "--test-to"), every)
            ev = evaluate_time_split(eng, wh, cases, train_dates, test_dates, rules=rules, progress=progress)
            model = ev.model
            model.info["evaluation"] = ev.to_dict()
        else:
            frame = collect_frames(eng, wh, train_dates, graph=not no_graph, progress=progress)
            y = label_accounts(frame["account_id"], frame["as_of_date"], cases).astype(int)
            model = fit_risk_model(frame, y, graph=not no_graph, rules=rules)
            ev = None
    model.save(out)
    console.print(
        f"模型 model → {out.resolve()} ({model.info['rows']:,} rows, {model.info['positives']:,} positives)"
    )
    if ev is not None:
        console.print(ev.text(), highlight=False)


@risk_app.command("score")
def score(
    model_dir: Path = typer.Option(Path("models/risk"), "--model", "-m", help="Trained model folder."),
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    out: Path = typer.Option(..., "--out", "-o", help="Scores file (.parquet)."),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
    edges: Path = typer.Option(
        None, "--edges", help="Score an edge list (Parquet/CSV) instead of the warehouse."
    ),
    from_column: str = typer.Option("from_account", "--from-column"),
    to_column: str = typer.Option("to_account", "--to-column"),
    amount_column: str = typer.Option("amount", "--amount-column"),
    time_column: str = typer.Option("timestamp", "--time-column"),
    amount_unit: str = typer.Option("yuan", "--amount-unit", help="yuan or fen."),
) -> None:
    """Score every account active in the 30 days up to --as-of (warehouse or edge list).

    Examples:

      youshu risk score --as-of 2025-09-30 -o runs/2025-09-30/risk_scores.parquet

      youshu risk score --edges transfers.csv --as-of 2022-09-10 -o scores.parquet --amount-column "Amount Paid"
    """
    model = RiskModel.load(model_dir)
    day = _day(as_of, "--as-of")
    with connect_from_settings(get_settings()) as eng:
        if edges is not None:
            columns = EdgeColumns(from_column, to_column, amount_column, time_column, amount_unit)
            frame = edge_list_frame(eng, read_edge_list(eng, edges, columns), day, graph=model.uses_graph)
        else:
            frame = account_frame(eng, _warehouse(warehouse), day, graph=model.uses_graph)
    scored = model.score(frame).sort_values(["score", "account_id"], ascending=[False, True])
    if out.suffix != ".parquet":
        raise YoushuError(f"{out}: scores are written as .parquet")
    with atomic_file(out) as tmp:
        pq.write_table(pa.Table.from_pandas(scored, preserve_index=False), tmp)
    console.print(f"评分 scored {len(scored):,} accounts on {day} → {out.resolve()}", highlight=False)


@risk_app.command("alerts")
def alerts(
    model_dir: Path = typer.Option(Path("models/risk"), "--model", "-m", help="Trained model folder."),
    as_of: datetime = typer.Option(..., "--as-of", formats=DATE, help="As-of date."),
    top: int = typer.Option(100, "--top", help="Alerts (accounts) for the day."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Alert list: .xlsx or .parquet (personal data masked)."
    ),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
    exported_by: str = typer.Option("youshu-cli", "--by", help="Who exports (recorded in the file)."),
) -> None:
    """The day's top alerts with reasons, rules hit and counterparties, masked for investigators.

    Examples:

      youshu risk alerts --as-of 2025-09-30 --top 100 -o alerts/2025-09-30.xlsx
    """
    model = RiskModel.load(model_dir)
    wh = _warehouse(warehouse)
    day = _day(as_of, "--as-of")
    with connect_from_settings(get_settings()) as eng:
        table = build_alerts(eng, wh, day, model, top)
    path = export_alerts(table, out, warehouse=wh, exported_by=exported_by)
    console.print(
        f"预警 {len(table):,} alerts on {day} (personal data masked) → {path.resolve()}", highlight=False
    )


@risk_app.command("drift")
def drift(
    model_dir: Path = typer.Option(Path("models/risk"), "--model", "-m", help="Trained model folder."),
    reference: datetime = typer.Option(..., "--reference", formats=DATE, help="Earlier as-of date."),
    current: datetime = typer.Option(..., "--current", formats=DATE, help="Later as-of date."),
    budget: int = typer.Option(100, "--budget", help="Alerts per day."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Folder for the awareness tables and the 风险账户 flags."
    ),
    warehouse: Path = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default: config)."),
    top: int = typer.Option(15, "--top", help="Rows to show per table."),
) -> None:
    """Risk situational awareness between two dates: PSI drift, alert trend, rising outlets, customer flags.

    Examples:

      youshu risk drift --reference 2025-06-30 --current 2025-09-30 -o runs/2025-09-30/risk
    """
    model = RiskModel.load(model_dir)
    wh = _warehouse(warehouse)
    days = [_day(reference, "--reference"), _day(current, "--current")]
    with connect_from_settings(get_settings()) as eng:
        frames = [account_frame(eng, wh, d, graph=model.uses_graph) for d in days]
    scores = pd.concat([model.score(f) for f in frames], ignore_index=True)
    summary = awareness_summary(scores, budget=budget, reference_frame=frames[0], current_frame=frames[1])
    assert summary.drift is not None
    _print("漂移 drift (PSI: <0.1 稳定, 0.1-0.25 关注, >0.25 显著漂移)", summary.drift.head(top))
    _print("预警趋势 alert trend", summary.trend)
    if summary.rising_outlets is not None:
        _print("预警上升网点 rising outlets", summary.rising_outlets.head(top))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_customer_flags(summary.flags, out)
        for name in ("by_outlet", "by_county", "trend", "trend_by_county", "rising_outlets", "drift"):
            table = getattr(summary, name)
            with atomic_file(out / f"{name}.parquet") as tmp:
                pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
        (out / "awareness.json").write_text(
            json.dumps({"dates": summary.dates, "budget": budget}), encoding="utf-8"
        )
        console.print(f"态势 awareness tables and 风险账户 flags → {out.resolve()}", highlight=False)


def _print(title: str, frame: pd.DataFrame) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
