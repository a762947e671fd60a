"""``youshu models train|score|list|show|promote|compare|predict``: propensity models (倾向模型) and the registry.

``train --as-of D --horizon H`` fits a PropensityRanker on features as of D - H with labels from events in
(D - H, D], measured out of time one horizon earlier when the data allow; ``score`` writes each customer's
score, rank and zh reasons. The work is done by ``youshu.models.training``; these commands parse and report.
"""

from __future__ import annotations

import datetime as dtm
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from youshu.models.store import SavedModel
    from youshu.registry.store import RegistryStore

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
REGISTRY_URI = typer.Option(
    None, "--registry-uri", help="MLflow server (default: registry_uri of youshu.yaml, else registry/ here)."
)


def _store(uri: str | None) -> RegistryStore:
    from youshu.registry.store import resolve_store

    return resolve_store(get_settings(), uri)


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
    register: str = typer.Option(
        None, "--register", help="Also log to MLflow and register as a new version of this model name."
    ),
    business_area: str = typer.Option(
        None,
        "--business-area",
        help="零售金融 | 乡村振兴 | 服务实体经济 | 金融风险防控 (default: the use case's).",
    ),
    use_case: str = typer.Option(
        None, "--use-case", help="Use-case id (default: the one listing the model)."
    ),
    owner_team: str = typer.Option(None, "--owner-team", help="Owner team on the model card."),
    registry_uri: str = REGISTRY_URI,
) -> None:
    """Train a propensity model for TARGET on the customers of SEGMENT and save it (训练倾向模型).

    Examples:

      youshu models train --target insurance_purchase --segment 女性客群 --as-of 2025-09-30 -o models/her_insurance

      youshu models train --target wealth_purchase --segment "NOT 沉睡客户" --as-of 2025-09-30 --horizon 60 -o models/wealth

      youshu models train --target insurance_purchase --segment 女性客群 --as-of 2025-09-30 -o models/her --register her_insurance
    """
    from youshu.models.store import save_model
    from youshu.models.targets import get_target

    goal = get_target(target)
    wh = _warehouse(warehouse)
    seg = _segment(segment, definitions)
    with _engine() as engine:
        trained = train_model(engine, wh, target, as_of.date(), horizon, seg, holdout=holdout)
        evaluation = None
        if register and holdout and trained.card.metrics:
            from youshu.registry.propensity import holdout_evaluation

            evaluation = holdout_evaluation(engine, wh, target, as_of.date(), horizon, seg)
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
    if register:
        _register_trained(
            register,
            folder,
            goal.zh,
            target,
            wh,
            definitions,
            evaluation,
            business_area,
            use_case,
            owner_team,
            registry_uri,
        )


def _register_trained(
    name: str,
    folder: Path,
    target_zh: str,
    target: str,
    warehouse: Path,
    definitions: Path | None,
    evaluation: tuple[Any, dict[str, Any]] | None,
    business_area: str | None,
    use_case: str | None,
    owner_team: str | None,
    registry_uri: str | None,
) -> None:
    from youshu.registry.card import BusinessArea, CardInfo
    from youshu.registry.publish import publish
    from youshu.registry.usecases import find_use_case, load_use_cases, use_case_for_model

    cases = load_use_cases()
    case = find_use_case(cases, use_case) if use_case else use_case_for_model(cases, name)
    try:
        area = (
            BusinessArea(business_area)
            if business_area
            else (case.business_area if case else BusinessArea.RETAIL)
        )
    except ValueError:
        raise YoushuError(
            f"unknown business area {business_area!r}; one of {', '.join(a.value for a in BusinessArea)}"
        ) from None
    info = CardInfo(
        name_zh=case.name_zh if case else f"{target_zh}倾向",
        name_en=case.name_en if case else f"{target} propensity",
        business_area=area,
        use_case=case.id if case else (use_case or ""),
        owner_team=owner_team or (case.owner_team if case and case.owner_team else "模型团队 model team"),
        intended_use=f"rank customers by the probability of {target} ({target_zh}) in the label window",
        limitations="out-of-time figures are from the warehouse it was trained on; re-measure on new data",
    )
    settings = get_settings()
    roots = [_definitions(definitions), settings.resolve(settings.definitions_dir) / "ivl"]
    rows, charts = evaluation if evaluation is not None else (None, None)
    store = _store(registry_uri)
    logged, version = publish(
        store, name, folder, info, definitions=roots, warehouse=warehouse, evaluation=rows, charts=charts
    )
    from youshu.registry.versions import describe_model

    aliases = next(
        v["aliases"] for v in describe_model(store, name)["versions"] if str(v["version"]) == version
    )
    _say(
        f"注册 registered {name} v{version} ({', '.join(aliases)}) in {store.describe()}: "
        f"{info.name_zh} {info.name_en}, {info.business_area.value}, run {logged.run_id}"
    )


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
    from youshu.models.store import load_model

    saved = load_model(model)
    _score_saved(saved, as_of, out, features, segment, all_rows, compile, warehouse, definitions)


def _score_saved(
    saved: SavedModel,
    as_of: dtm.datetime | None,
    out: Path,
    features: Path | None,
    segment: str | None,
    all_rows: bool,
    compile: bool,
    warehouse: Path | None,
    definitions: Path | None,
) -> None:
    """Score the warehouse as of a date (or a feature file) with a loaded model; write and report."""
    from youshu.features import ID_COLUMNS, compute_features

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


# -- the registry (注册模型) -----------------------------------------------------------------------------


def _alias_order(item: tuple[str, int]) -> tuple[bool, str]:
    return item[0] != "champion", item[0]


@models_app.command("list")
def list_registered(registry_uri: str = REGISTRY_URI) -> None:
    """List registered models with their business area, versions and aliases (已注册模型).

    Examples:

      youshu models list
    """
    from youshu.registry.versions import list_models

    store = _store(registry_uri)
    rows = list_models(store)
    if not rows:
        _say(f"no registered models in {store.describe()}: use `youshu models train ... --register NAME`")
        return
    _say(f"registry 模型注册表 {store.describe()}")
    for r in rows:
        aliases = (
            ", ".join(f"{a}=v{v}" for a, v in sorted(r["aliases"].items(), key=_alias_order)) or "no aliases"
        )
        _say(
            f"  {r['name']}  {r['name_zh']} {r['name_en']}  [{r['business_area']}]  "
            f"{r['versions']} version(s), latest v{r['latest']}; {aliases}"
        )


@models_app.command("show")
def show(
    name: str = typer.Argument(..., help="Registered model name."),
    registry_uri: str = REGISTRY_URI,
) -> None:
    """Show a registered model: versions, aliases, out-of-time metrics, card and use case (模型详情).

    Examples:

      youshu models show her_insurance
    """
    from youshu.registry.usecases import UseCaseError, load_use_cases, use_case_for_model
    from youshu.registry.versions import describe_model

    model = describe_model(_store(registry_uri), name)
    tags = model["tags"]
    _say(f"{name}  {tags.get('name_zh', '')} {tags.get('name_en', '')}  [{tags.get('business_area', '')}]")
    for v in model["versions"]:
        aliases = f" ({', '.join(v['aliases'])})" if v["aliases"] else ""
        metrics = ", ".join(f"{k} {val:.3f}" for k, val in sorted(v["metrics"].items()))
        _say(f"  v{v['version']}{aliases}: {metrics or 'no metrics'}; run {v['run_id']}")
        card = v["card"]
        if card:
            fp = card.get("data_fingerprint", {})
            _say(
                f"    as of {fp.get('as_of')}, {len(card.get('features', []))} features, "
                f"definitions {str(card.get('definitions_hash', ''))[:19]}, data {str(fp.get('hash', ''))[:19]}"
            )
            for column, rows in card.get("breakdown", {}).items():
                parts = [
                    f"{r[column]} {r['roc_auc']:.3f}" if r["roc_auc"] is not None else f"{r[column]} –"
                    for r in rows
                ]
                _say(f"    AUC by {column}: {', '.join(parts)}")
    try:
        case = use_case_for_model(load_use_cases(), name)
    except UseCaseError:
        case = None
    if case is not None:
        _say(f"应用案例 use case: {case.id} {case.name_zh} {case.name_en} — {case.problem}")


@models_app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Option("challenger", "--version", help="Version number or alias to promote."),
    registry_uri: str = REGISTRY_URI,
) -> None:
    """Make a version the champion (default: the challenger); the old champion keeps its version (晋升).

    Examples:

      youshu models promote her_insurance

      youshu models promote her_insurance --version 3
    """
    from youshu.registry.versions import promote as promote_version

    old, new = promote_version(_store(registry_uri), name, version)
    before = f"v{old}" if old else "none"
    _say(f"{name}: champion 冠军 v{new} (was {before}); models:/{name}@champion")


def _labelled_rows(
    card: Any, as_of: dtm.date, warehouse: Path | None, definitions: Path | None
) -> tuple[Any, Any, Any]:
    from youshu.models.timesplit import TimeSplit
    from youshu.models.training import split_rows

    split = TimeSplit(as_of - dtm.timedelta(days=card.horizon_days), card.horizon_days)
    seg = _segment(card.segment, definitions)
    with _engine() as engine:
        x, y = split_rows(engine, _warehouse(warehouse), card.target, split, seg)
    return x.to_pandas(), y, split


@models_app.command("compare")
def compare(
    name: str = typer.Argument(..., help="Registered model name."),
    as_of: dtm.datetime = typer.Option(
        ..., "--as-of", formats=["%Y-%m-%d"], help="D: labels end here; features are as of D - horizon."
    ),
    versions: list[str] = typer.Option(
        ["champion", "challenger"], "--version", help="Versions or aliases to compare (repeat the option)."
    ),
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
    registry_uri: str = REGISTRY_URI,
) -> None:
    """Compare versions on the same out-of-time window: the same rows re-scored by each (冠军/挑战者对比).

    Examples:

      youshu models compare her_insurance --as-of 2025-12-31
    """
    from youshu.registry.versions import compare_versions, load_version

    store = _store(registry_uri)
    first = load_version(store, name, versions[0])
    if first.kind != "PropensityRanker":
        raise YoushuError(
            f"{name} is a {first.kind}; compare it with youshu.registry.versions.compare_versions on labelled rows"
        )
    card = first.youshu.card
    x, y, split = _labelled_rows(card, as_of.date(), warehouse, definitions)
    table = compare_versions(store, name, x, y, refs=versions, split=split)
    _say(f"{name}: {card.target} on {split}{f' (segment {card.segment})' if card.segment else ''}")
    for row in table.itertuples():
        _say(
            f"  {row.name}: AUC {row.roc_auc:.3f}, PR-AUC {row.pr_auc:.3f}, top-decile lift "
            f"{row.top_decile_lift:.2f} ({row.positives:,} of {row.rows:,} positive)"
        )


@models_app.command("predict")
def predict(
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str = typer.Option("champion", "--alias", "--version", help="Alias or version number to load."),
    as_of: dtm.datetime = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Score the warehouse's rows as of this date."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Scores file (.parquet)."),
    features: Path = typer.Option(None, "--features", help="Score this feature table instead (propensity)."),
    segment: str = typer.Option(None, "--segment", help="Tag expression (default: the model's segment)."),
    all_rows: bool = typer.Option(False, "--all-rows", help="Score every row, ignoring any segment."),
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
    registry_uri: str = REGISTRY_URI,
) -> None:
    """Score a new as-of date with a registered model loaded by alias (default: the champion) (按别名打分).

    Examples:

      youshu models predict her_insurance --as-of 2025-12-31 -o scores/her_insurance.parquet

      youshu models predict her_insurance --alias challenger --as-of 2025-12-31 -o scores/challenger.parquet
    """
    from youshu.registry.versions import load_version

    store = _store(registry_uri)
    loaded = load_version(store, name, alias)
    _say(f"{name} v{loaded.version} ({alias}) from {store.describe()}")
    if loaded.kind == "RiskModel":
        from youshu.models.risk import score_accounts

        if as_of is None:
            raise YoushuError("give --as-of YYYY-MM-DD to score the warehouse's accounts")
        if out.suffix != ".parquet":
            raise YoushuError(f"write scores to a .parquet file, not {out}")
        with _engine() as engine:
            scored = score_accounts(engine, _warehouse(warehouse), as_of.date(), loaded.youshu)
        with atomic_file(out) as tmp:
            pq.write_table(scored, tmp)
        _say(f"scored {scored.num_rows:,} accounts as of {as_of.date()} -> {out}")
        return
    if loaded.kind == "AumRegressor":
        _predict_aum(loaded.youshu, as_of, out, features, warehouse)
        return
    _score_saved(loaded.youshu, as_of, out, features, segment, all_rows, False, warehouse, definitions)


def _predict_aum(
    model: Any, as_of: dtm.datetime | None, out: Path, features: Path | None, warehouse: Path | None
) -> None:
    """The IVL value model's AUM forecast (fen) per customer, from the warehouse as of a date or a feature file."""
    import pyarrow as pa

    from youshu.features import compute_features

    if out.suffix != ".parquet":
        raise YoushuError(f"write forecasts to a .parquet file, not {out}")
    if features is not None:
        frame = pq.read_table(features).to_pandas()
    elif as_of is not None:
        with _engine() as engine:
            frame = engine.execute(compute_features(engine, _warehouse(warehouse), "customer", as_of.date()))
    else:
        raise YoushuError("give --as-of YYYY-MM-DD (score the warehouse) or --features FILE.parquet")
    if "customer_id" not in frame.columns:
        raise YoushuError(
            f"the feature table has no customer_id column; columns: {list(frame.columns)[:10]}..."
        )
    table = pa.table(
        {
            "customer_id": pa.array(frame["customer_id"].astype(str)),
            "predicted_aum_fen": pa.array(model.predict(frame), pa.float64()),
        }
    )
    with atomic_file(out) as tmp:
        pq.write_table(table, tmp)
    _say(f"forecast AUM for {table.num_rows:,} customers -> {out}")
