"""``youshu models train|score``: a propensity model (倾向模型) for any named target and tag segment.

``train --as-of D --horizon H`` fits a PropensityRanker on features as of D - H with labels from events in
(D - H, D], measured out of time one horizon earlier when the data allow; ``score`` writes each customer's
score, rank and zh reasons. The work is done by ``youshu.models.training``; these commands parse and report.
"""

from __future__ import annotations

import datetime as dtm
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import typer
from rich.console import Console

from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.config import get_settings
from youshu.errors import YoushuError
from youshu.models.training import score_table, train_model

if TYPE_CHECKING:
    from youshu.engine import Engine
    from youshu.models.segment import Segment

models_app = typer.Typer(
    help="倾向模型 Propensity models: train on any target and tag segment, score customers.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
console = Console()


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _definitions(path: Path | None) -> Path:
    from youshu.pipeline.tags_step import default_definitions

    return path if path is not None else default_definitions()


def _segment(expression: str | None, definitions: Path | None) -> Segment | None:
    if expression is None or not expression.strip():
        return None
    from youshu.models.segment import Segment, load_tagset

    return Segment.parse(expression, load_tagset(_definitions(definitions)))


def _warehouse(path: Path | None) -> Path:
    settings = get_settings()
    wh = path if path is not None else settings.resolve(settings.warehouse)
    if not wh.is_dir():
        raise YoushuError(f"warehouse {wh} does not exist: run `youshu synth` or `youshu data load` first")
    return wh


def _engine() -> Engine:
    from youshu.engine import connect_from_settings

    return connect_from_settings(get_settings())


WAREHOUSE = typer.Option(None, "--warehouse", "-w", help="Canonical tables (default: youshu.yaml).")
DEFINITIONS = typer.Option(
    None,
    "--definitions",
    help="Tag definitions for --segment (default: definitions_dir/tags or the shipped ones).",
)


@models_app.command("train")
def train(
    target: str = typer.Option(..., "--target", help="Event to predict, e.g. insurance_purchase."),
    segment: str = typer.Option(None, "--segment", help="Tag expression, e.g. '女性客群 AND NOT 沉睡客户'."),
    as_of: dtm.datetime = typer.Option(
        ..., "--as-of", formats=["%Y-%m-%d"], help="D: labels end here; features are as of D - horizon."
    ),
    horizon: int = typer.Option(90, "--horizon", min=1, help="Label window in days."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to write (model.txt + model.json)."),
    holdout: bool = typer.Option(
        True, "--holdout/--no-holdout", help="Measure out of time on the split one horizon earlier."
    ),
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
) -> None:
    """Train a propensity model for TARGET on the customers of SEGMENT and save it (训练倾向模型).

    Examples:

      youshu models train --target insurance_purchase --segment 女性客群 --as-of 2025-09-30 -o models/her_insurance

      youshu models train --target wealth_purchase --segment "NOT 沉睡客户" --as-of 2025-09-30 --horizon 60 -o models/wealth
    """
    from youshu.models.store import save_model
    from youshu.models.targets import get_target

    goal = get_target(target)
    wh = _warehouse(warehouse)
    seg = _segment(segment, definitions)
    with _engine() as engine:
        trained = train_model(engine, wh, target, as_of.date(), horizon, seg, holdout=holdout)
    folder = save_model(trained.ranker, trained.card, out)
    card = trained.card
    _say(
        f"{goal.zh} {target}: trained on {card.notes['rows']:,} customers"
        f"{f' of segment {seg.expression}' if seg else ''}, {card.notes['positives']:,} positives "
        f"(features as of {card.notes['train_as_of']}, labels to {card.as_of}) -> {folder}"
    )
    m = card.metrics
    if m:
        line = (
            f"out of time ({m['trained_on']} -> {m['holdout']}): AUC {m['roc_auc']:.3f}, "
            f"top-decile lift {m['top_decile_lift']:.2f}, {m['positives']:,} of {m['rows']:,} positive"
        )
        if "rank_by_aum_roc_auc" in m:
            line += f"; rank by AUM: AUC {m['rank_by_aum_roc_auc']:.3f}, lift {m['rank_by_aum_top_decile_lift']:.2f}"
        _say(line)
    else:
        _say(f"no out-of-time figures: {card.notes.get('holdout_skipped', '')}")
    for row in trained.ranker.importance_frame().head(5).itertuples():
        _say(f"  {row.feature} ({row.zh}): gain share {row.gain_share:.3f}")


@models_app.command("score")
def score(
    model: Path = typer.Option(..., "--model", help="Folder written by `youshu models train`."),
    as_of: dtm.datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Score the warehouse's customers as of this date."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Scores file (.parquet)."),
    features: Path = typer.Option(
        None, "--features", help="Score this feature table (Parquet file or folder) instead of the warehouse."
    ),
    segment: str = typer.Option(None, "--segment", help="Tag expression (default: the model's segment)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Score every row, ignoring any segment."),
    compile: bool = typer.Option(
        False, "--compile", help="Compile the trees (lleaves): for millions of rows."
    ),
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
) -> None:
    """Score customers with a saved model: customer_id, score, rank and three zh reasons (模型打分).

    Examples:

      youshu models score --model models/her_insurance --as-of 2025-12-31 -o scores/her_insurance.parquet

      youshu models score --model models/her_insurance --features outside_features.parquet -o scores.parquet
    """
    from youshu.features import ID_COLUMNS, compute_features
    from youshu.models.store import load_model

    saved = load_model(model)
    id_column = ID_COLUMNS[saved.card.entity]
    if out.suffix != ".parquet":
        raise YoushuError(f"write scores to a .parquet file, not {out}")
    expression = None if all_rows else (segment if segment is not None else saved.card.segment)
    seg = _segment(expression, definitions)
    with _engine() as engine:
        if features is not None:
            if not features.exists():
                raise YoushuError(f"feature table {features} does not exist")
            table = ds.dataset(features, format="parquet").to_table()
            where = f"in {features}"
        else:
            if as_of is None:
                raise YoushuError("give --as-of YYYY-MM-DD to score the warehouse, or --features FILE")
            day = as_of.date()
            expr = compute_features(engine, _warehouse(warehouse), saved.card.entity, day)
            table = engine.to_pyarrow(expr).sort_by(id_column)
            where = f"as of {day}"
        if seg is not None:
            table = seg.select(engine, table, what=where)
    scored = score_table(saved.ranker, table, id_column=id_column, compile=compile)
    with atomic_file(out) as tmp:
        pq.write_table(scored, tmp)
    _say(
        f"scored {scored.num_rows:,} customers {where}"
        f"{f' of segment {seg.expression}' if seg else ''} for {saved.card.target} -> {out}"
    )
    for row in scored.slice(0, 3).to_pylist():
        reasons = "；".join(r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r)
        _say(f"  #{row['rank']} {row[id_column]} {row['score']:.3f}  {reasons}")
