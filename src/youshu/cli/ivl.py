"""``youshu ivl build``: the IVL portrait (亲密度·潜力·生命周期) of every customer as of a date."""

from __future__ import annotations

import datetime as dtm
from pathlib import Path

import typer
from rich.console import Console

from youshu.cli.main import app
from youshu.config import get_settings
from youshu.engine import connect_from_settings
from youshu.errors import YoushuError

ivl_app = typer.Typer(help="IVL customer portrait (亲密度·潜在价值·生命周期).", no_args_is_help=True)
app.add_typer(ivl_app, name="ivl")
console = Console()


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@ivl_app.command("build")
def build(
    as_of: dtm.datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="As-of date (YYYY-MM-DD)."
    ),
    warehouse: Path = typer.Option(None, "--warehouse", help="Canonical tables (default: youshu.yaml)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: tags_dir of youshu.yaml)."),
    definitions: Path = typer.Option(
        None,
        "--definitions",
        help="Folder of intimacy/lifecycle/value/playbook .yml (default: definitions/ivl).",
    ),
    learn_intimacy: bool = typer.Option(
        False, "--learn-intimacy", help="Refit intimacy weights against observed retention (90 days)."
    ),
) -> None:
    """Score intimacy, potential value and lifecycle; write <out>/customer_ivl/as_of_date=.../ (构建IVL画像)."""
    from youshu.models.ivl import build_portrait, ivl_cube, load_config, write_portrait

    settings = get_settings()
    day = as_of.date() if as_of is not None else settings.as_of
    if day is None:
        raise YoushuError("give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)")
    wh = warehouse if warehouse is not None else settings.resolve(settings.warehouse)
    if not wh.is_dir():
        raise YoushuError(f"warehouse {wh} does not exist: run `youshu synth` or `youshu data load` first")
    config = load_config(
        definitions if definitions is not None else settings.resolve(settings.definitions_dir) / "ivl"
    )
    dest = out if out is not None else settings.resolve(settings.tags_dir)
    with connect_from_settings(settings) as engine:
        portrait = build_portrait(engine, wh, day, config, learn_intimacy=learn_intimacy)
    folder = write_portrait(portrait.table, dest, day)
    cube = ivl_cube(portrait.table, config.playbook)
    _say(f"IVL portrait of {len(portrait.table):,} customers as of {day} -> {folder}")
    top = cube.sort_values("customers", ascending=False).head(5)
    for row in top.itertuples(index=False):
        _say(
            f"  {row.intimacy_level}亲密·{row.value_level}潜力·{row.lifecycle_stage_zh}: {row.customers:,} customers, "
            f"AUM share {row.aum_share:.1%} -> {row.action}"
        )


@ivl_app.command("transitions")
def transitions_cmd(
    before: dtm.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="Earlier as-of date."),
    after: dtm.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Later as-of date."),
    out: Path = typer.Option(None, "--out", help="Folder holding customer_ivl (default: tags_dir)."),
) -> None:
    """Show how customers moved between two built portraits (IVL迁移矩阵)."""
    from youshu.models.ivl import read_portrait, transitions

    settings = get_settings()
    folder = out if out is not None else settings.resolve(settings.tags_dir)
    first, second = read_portrait(folder, before.date()), read_portrait(folder, after.date())
    names = {
        "intimacy_level": "亲密度 intimacy",
        "value_level": "潜力 value",
        "lifecycle_stage_zh": "生命周期 lifecycle",
    }
    for column, title in names.items():
        matrix = transitions(first, second, column)
        _say(f"{title}: {before.date()} (rows) -> {after.date()} (columns)")
        _say(matrix.to_string())
