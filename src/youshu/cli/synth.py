"""``youshu synth``: generate a synthetic province with planted truth."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from youshu.cli.main import app
from youshu.cli.progress import progress_bar
from youshu.config import get_settings
from youshu.schema.storage import TRUTH_DIR
from youshu.synth import generate

console = Console()


@app.command("synth")
def synth(
    customers: int = typer.Option(
        None,
        "--customers",
        "-n",
        help="Number of customers (1,000 to 16,000,000); default from youshu.yaml (50,000).",
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed; same seed and size give identical files."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (default: the configured warehouse)."),
    start_date: datetime = typer.Option(
        None, "--start-date", formats=["%Y-%m-%d"], help="First day of data."
    ),
    end_date: datetime = typer.Option(None, "--end-date", formats=["%Y-%m-%d"], help="Last day of data."),
    workers: int = typer.Option(None, "--workers", help="Parallel processes (default: up to 2)."),
) -> None:
    """Generate a synthetic province (合成省份) into a canonical warehouse, planted truth under truth/.

    The truth folder holds the latent states the observed tables were generated from; only evaluation code
    may read it.

    Examples:

      youshu synth --customers 50000 --seed 7 --out data/warehouse

      youshu synth -n 1000000 --out /data/province-1m --workers 2
    """
    settings = get_settings()
    cfg = settings.synth
    target = out if out is not None else settings.resolve(settings.warehouse)
    with progress_bar() as progress:
        result = generate(
            target,
            customers=customers or cfg.customers,
            seed=seed if seed is not None else cfg.seed,
            start_date=(start_date.date() if start_date else cfg.start_date),
            end_date=(end_date.date() if end_date else cfg.end_date),
            workers=workers,
            progress=progress,
        )
    table = Table(title=f"合成省份 synthetic province → {result.out.resolve()}", show_lines=False)
    table.add_column("表 table")
    table.add_column("行数 rows", justify="right")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"{result.params.customers:,} customers, seed {result.params.seed}, data {result.params.start_date} .. "
        f"{result.params.end_date}, generated in {result.seconds:.1f} s on {result.workers} worker(s).\n"
        f"Planted truth (evaluation only, never read by the pipeline): {result.out.resolve() / TRUTH_DIR}\n"
        f"Suggested as-of date: {result.truth_as_of}"
    )
