"""The pipeline's ``models`` step: the IVL portrait and the wealth-product propensity, validated out of time.

Into the run folder it writes::

    models/ivl/customer_ivl/as_of_date=<T>/part-0.parquet   one row per customer: intimacy, value, lifecycle
    models/ivl/ivl_cube.parquet                             45 cells with sizes, AUM share and the zh action
    models/wealth_evaluation.json                           the out-of-time evaluation (model and AUM baseline)
    models/wealth_scores.parquet                            every customer's score, rank and top-3 zh reasons

and returns three report sections: IVL 客户画像, 购买理财倾向 (the validation: AUC, PR-AUC, lift, gain,
calibration and precision-recall against ranking by AUM) and 推荐理由 (the most frequent reasons among the
top decile, examples).

The propensity is honest about time. With T the run's date and H = 90 days, a ranker trained on features as
of T-2H with wealth purchases in (T-2H, T-H] is evaluated on features as of T-H against purchases in
(T-H, T], next to ranking by AUM on the same rows: that is what the report shows. The scores come from a ranker
with the same settings trained on T-H with labels to T, applied to features as of T. Only the warehouse is
read (never ``truth/``) and nothing after T. When the province has too little history or too few buyers, the
sections say so instead of failing the run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq
from plotly.subplots import make_subplots

from youshu.atomic import atomic_file
from youshu.errors import YoushuError
from youshu.features import compute_features
from youshu.models.baselines import rank_by
from youshu.models.charts import gain_chart, lift_chart, pr_curve_chart, reliability_chart
from youshu.models.evaluation import EvaluationReport, evaluate
from youshu.models.ivl import STAGE_ZH, IvlConfig, build_portrait, ivl_cube, load_config, write_portrait
from youshu.models.ivl.cube import LEVELS
from youshu.models.propensity import PropensityRanker
from youshu.models.reasons import catalog_specs
from youshu.models.targets import get_target
from youshu.models.timesplit import TimeSplit, label_vector
from youshu.models.training import score_table
from youshu.pipeline.tags_step import TAGS_DIR
from youshu.reports.html import (
    Block,
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Note,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
)
from youshu.tags.model_tags import add_ivl_tags

if TYPE_CHECKING:
    from youshu.engine import Engine
    from youshu.pipeline.run import RunContext

__all__ = [
    "CUBE_FILE",
    "EVALUATION_FILE",
    "IVL_DIR",
    "SCORES_FILE",
    "SHIPPED_IVL_DEFINITIONS",
    "WealthOutcome",
    "default_ivl_definitions",
    "ivl_grid_figure",
    "models_step",
    "top_decile_reasons",
]

log = logging.getLogger(__name__)

#: Why a part of the step cannot run: (zh, en).
Problem = tuple[str, str]

#: The IVL definitions of the youshu source tree (``<repo>/definitions/ivl``).
SHIPPED_IVL_DEFINITIONS = Path(__file__).resolve().parents[3] / "definitions" / "ivl"
IVL_FILES = ("intimacy.yml", "lifecycle.yml", "value.yml", "playbook.yml")

IVL_DIR = "models/ivl"
CUBE_FILE = "models/ivl/ivl_cube.parquet"
SCORES_FILE = "models/wealth_scores.parquet"
EVALUATION_FILE = "models/wealth_evaluation.json"

TARGET = "wealth_purchase"
#: Label window H in days: a purchase in the 90 days after the as-of date is a positive.
HORIZON_DAYS = 90
#: LightGBM settings that work on the synthetic province (see benchmarks/eval_wealth.py), with a higher learning
#: rate (0.05 instead of 0.03) to keep the step fast. ROUNDS is fixed, not early-stopped: 100 rounds at 0.05 is
#: about the 170 rounds at 0.03 that early stopping finds there, and a hold-out of a small province is too noisy
#: to stop on (measured on 3,000 customers: 6 rounds, out-of-time AUC 0.825 and poor calibration, against 0.840
#: and a calibration error of 0.008 with 100; at 50k both give AUC 0.847).
#: One thread: on 2 cores shared with other work, 2 LightGBM threads trained 5-7x slower (wall) than one.
RANKER: dict[str, Any] = {"learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 200, "n_jobs": 1}
ROUNDS = 100
SEED = 0
#: Bootstrap resamples of the model's AUC, PR-AUC and top-decile lift intervals.
N_BOOT = 100
#: Fewer buyers than this in a label window and the step reports instead of training.
MIN_POSITIVES = 20
#: Days of transactions the features of the earliest training date must see.
MIN_HISTORY_DAYS = 90
TOP_SHARE = 0.1
EXAMPLES = 10
TOP_REASONS = 10


@dataclass(frozen=True)
class WealthOutcome:
    """What the propensity part of the step did, left in ``ctx.results["wealth"]``.

    Attributes
    ----------
    model, baseline : EvaluationReport
        The ranker trained on ``train_split`` and ranking by AUM, both on ``test_split``.
    train_split, test_split : TimeSplit
        (T-2H, labels to T-H) and (T-H, labels to T).
    rounds : int
        Boosting rounds of both rankers.
    scores : pandas.DataFrame
        What ``models/wealth_scores.parquet`` holds: ``customer_id``, ``outlet_id``, ``score``, ``rank``
        (1 = highest), ``reason_1..3`` (zh) and ``reason_feature_1..3``.
    """

    model: EvaluationReport
    baseline: EvaluationReport
    train_split: TimeSplit
    test_split: TimeSplit
    rounds: int
    scores: pd.DataFrame


def default_ivl_definitions() -> Path:
    """``definitions_dir/ivl`` of the project settings, else the IVL definitions shipped with youshu."""
    from youshu.config import get_settings

    settings = get_settings()
    folder = settings.resolve(settings.definitions_dir) / "ivl"
    if not _has_ivl(folder) and _has_ivl(SHIPPED_IVL_DEFINITIONS):
        log.info("no IVL definitions in %s; using the shipped ones in %s", folder, SHIPPED_IVL_DEFINITIONS)
        return SHIPPED_IVL_DEFINITIONS
    return folder


def _has_ivl(folder: Path) -> bool:
    return all((folder / name).is_file() for name in IVL_FILES)


def models_step(ctx: RunContext, *, ivl_definitions: Path | None = None) -> list[Section]:
    """Build the IVL portrait and the wealth propensity as of ``ctx.as_of``; write them; report.

    Parameters
    ----------
    ctx : RunContext
        The run (engine, warehouse, as-of date, output folder).
    ivl_definitions : Path, optional
        Folder of the IVL ``.yml`` files (default: :func:`default_ivl_definitions`).

    Returns
    -------
    list of Section
        ``ivl`` (IVL 客户画像), ``wealth-propensity`` (购买理财倾向) and ``wealth-reasons`` (推荐理由); a part
        that cannot be built on this province holds a warning note saying why.

    Raises
    ------
    YoushuError
        When the IVL definitions are missing or invalid.
    """
    ivl_folder = default_ivl_definitions() if ivl_definitions is None else Path(ivl_definitions)
    ctx.results["ivl_definitions"] = ivl_folder  # hashed onto the model cards by the registry step
    config = load_config(ivl_folder)
    t = time.perf_counter()
    log.info("models: customer features as of %s", ctx.as_of)
    features = ctx.engine.to_pyarrow(compute_features(ctx.engine, ctx.warehouse, "customer", ctx.as_of))
    features = features.sort_by("customer_id")
    log.info("models: %d customers' features in %.1f s", features.num_rows, time.perf_counter() - t)
    sections = [_ivl_part(ctx, config, features)]
    sections += _wealth_part(ctx, features)
    return sections


# -- IVL --------------------------------------------------------------------------------------------------


def _ivl_part(ctx: RunContext, config: IvlConfig, features: pa.Table) -> Section:
    t = time.perf_counter()
    try:
        portrait = build_portrait(ctx.engine, ctx.warehouse, ctx.as_of, config, features=features.to_pandas())
    except YoushuError as exc:
        log.warning("models: no IVL portrait as of %s: %s", ctx.as_of, exc)
        note = _cannot("IVL 画像", "The IVL portrait", ("数据不足以构建画像（见英文说明）。", str(exc)))
        return Section("ivl", "IVL 客户画像", "IVL customer portrait", [note])
    write_portrait(portrait.table, ctx.out_dir / IVL_DIR, ctx.as_of)
    cube = ivl_cube(portrait.table, config.playbook)
    _write_parquet(cube, ctx.out_dir / CUBE_FILE)
    ctx.results["ivl"] = portrait
    tag_folder = ctx.out_dir / TAGS_DIR / "customer_tags" / f"as_of_date={ctx.as_of.isoformat()}"
    if tag_folder.is_dir():  # the IVL tags next to the declared ones, for audiences (docs/ivl.md)
        add_ivl_tags(tag_folder, portrait.table)
    else:
        log.info("models: no customer tags applied in this run; IVL tags not added to the tag tables")
    log.info("models: IVL portrait of %d customers in %.1f s", len(portrait.table), time.perf_counter() - t)
    return _ivl_section(portrait.table, cube, ctx.as_of, portrait.value_train_as_of)


def _ivl_section(table: pd.DataFrame, cube: pd.DataFrame, as_of: date, value_from: date) -> Section:
    shares = table["lifecycle_stage_zh"].value_counts(normalize=True)
    kpis = [Kpi("画像客户", "Customers", fmt_int(len(table)), "户", f"截至 as of {as_of}")]
    kpis += [
        Kpi(zh, stage, fmt_pct(shares.get(zh, 0.0)), note="客户占比 share") for stage, zh in STAGE_ZH.items()
    ]
    shown = cube[cube["customers"] > 0].sort_values(
        ["customers", "intimacy_level", "value_level"], ascending=[False, True, True], kind="stable"
    )
    blocks: list[Block] = [
        KpiGrid(kpis),
        FigureBlock(
            ivl_grid_figure(cube),
            "各生命周期阶段的亲密度 × 潜力客户分布",
            "Customers per intimacy × potential-value cell, one grid per lifecycle stage",
            height=380,
        ),
        TableBlock(
            shown,
            [
                Column("intimacy_level", "亲密度", "Intimacy"),
                Column("value_level", "潜力", "Value"),
                Column("lifecycle_stage_zh", "生命周期", "Lifecycle"),
                Column("customers", "客户数", "Customers", "int"),
                Column("customer_share", "客户占比", "Share", "pct"),
                Column("aum_fen", "AUM(万元)", "AUM", "wan"),
                Column("aum_share", "AUM占比", "AUM share", "pct"),
                Column("action", "建议动作", "Action"),
            ],
            "IVL 立方体（非空单元格，客户数从多到少）",
            "The IVL cube: non-empty cells, largest first",
            note=f"全部 45 个单元格见 {CUBE_FILE}。",
        ),
        Note(
            f"亲密度按 intimacy.yml 的权重打分；潜力为 12 个月后 AUM 预测（以 {value_from} 的特征与 "
            f"其后观测到的 AUM 训练）；生命周期按 lifecycle.yml 规则。客户明细：{IVL_DIR}/customer_ivl/"
            f"as_of_date={as_of}/；迁移矩阵：youshu ivl transitions --out {IVL_DIR}。",
            f"Intimacy from the weights of intimacy.yml; potential value is the AUM predicted 12 months ahead "
            f"(trained on features as of {value_from} and the AUM observed since); lifecycle by the rules of "
            "lifecycle.yml. Per-customer portrait in the folder above.",
        ),
    ]
    return Section("ivl", "IVL 客户画像", "IVL customer portrait", blocks)


def ivl_grid_figure(cube: pd.DataFrame) -> go.Figure:
    """One 3 × 3 heatmap (intimacy rows × value columns) per lifecycle stage, coloured by customers.

    Each cell shows its customers and its share of the province's AUM.
    """
    stages = list(STAGE_ZH.values())
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=stages, horizontal_spacing=0.03)
    x = [f"{v}潜力" for v in LEVELS]
    y = [f"{i}亲密" for i in LEVELS]
    indexed = cube.set_index(["lifecycle_stage_zh", "intimacy_level", "value_level"])
    for col, stage in enumerate(stages, start=1):
        customers = [[int(indexed.loc[(stage, i, v), "customers"]) for v in LEVELS] for i in LEVELS]
        aum = [[float(indexed.loc[(stage, i, v), "aum_share"]) for v in LEVELS] for i in LEVELS]
        text = [
            [f"{c:,}<br>AUM {a:.1%}" for c, a in zip(cr, ar, strict=True)]
            for cr, ar in zip(customers, aum, strict=True)
        ]
        fig.add_trace(
            go.Heatmap(
                z=customers,
                x=x,
                y=y,
                text=text,
                texttemplate="%{text}",
                coloraxis="coloraxis",
                hovertemplate=f"{stage} %{{y}}·%{{x}}: %{{z:,}} 客户<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", showticklabels=col == 1, row=1, col=col)
    fig.update_layout(coloraxis={"colorscale": "Greens", "colorbar": {"title": "客户数"}})
    return fig


# -- wealth propensity ------------------------------------------------------------------------------------


def _wealth_part(ctx: RunContext, features: pa.Table) -> list[Section]:
    as_of = ctx.as_of
    test_split = TimeSplit(as_of - timedelta(days=HORIZON_DAYS), HORIZON_DAYS)
    train_split = TimeSplit(test_split.as_of - timedelta(days=HORIZON_DAYS), HORIZON_DAYS)
    problem = _history_problem(ctx.engine, ctx.warehouse, as_of, train_split)
    if problem is None:
        t = time.perf_counter()
        x_train, y_train = _labelled(ctx.engine, ctx.warehouse, train_split)
        x_test, y_test = _labelled(ctx.engine, ctx.warehouse, test_split)
        log.info("models: features and labels of two splits in %.1f s", time.perf_counter() - t)
        problem = _label_problem(((train_split, y_train), (test_split, y_test)))
    if problem is not None:
        log.warning("models: no wealth propensity as of %s: %s", as_of, problem[1])
        note = _cannot("购买理财倾向模型", "The wealth propensity", problem)
        return [
            Section("wealth-propensity", "购买理财倾向", "Wealth-product propensity", [note]),
            Section("wealth-reasons", "推荐理由", "Top reasons", [note]),
        ]
    t = time.perf_counter()
    trained = PropensityRanker(n_estimators=ROUNDS, random_state=SEED, **_params(len(y_train)))
    trained.fit(x_train, y_train)
    test_scores = trained.predict_proba(x_test)[:, 1]
    model = evaluate(
        y_test,
        test_scores,
        name="倾向模型 PropensityRanker",
        n_boot=N_BOOT,
        seed=SEED,
        split=test_split,
    )
    baseline = evaluate(
        y_test, rank_by(x_test, "aum_fen"), name="按AUM排序 rank by AUM", n_boot=0, split=test_split
    )
    log.info(
        "models: out-of-time AUC %.3f (rank by AUM %.3f) in %.1f s",
        model.roc_auc,
        baseline.roc_auc,
        time.perf_counter() - t,
    )
    t = time.perf_counter()
    ranker = PropensityRanker(n_estimators=ROUNDS, random_state=SEED, **_params(len(y_test)))
    ranker.fit(x_test, y_test)
    scores = score_table(
        ranker, features, id_column="customer_id", keep={"home_outlet_id": "outlet_id"}, reason_features=True
    ).to_pandas()
    _write_parquet(scores, ctx.out_dir / SCORES_FILE)
    outcome = WealthOutcome(model, baseline, train_split, test_split, ROUNDS, scores)
    _write_evaluation(outcome, ctx.out_dir / EVALUATION_FILE)
    ctx.results["wealth"] = outcome
    # For the registry step: the scoring ranker and the out-of-time rows behind the card's group breakdown.
    held_out = pd.DataFrame({"y": np.asarray(y_test, dtype=int), "score": test_scores})
    for column in ("gender", "age_band"):
        if column in x_test.column_names:
            held_out[column] = x_test.column(column).to_pandas().astype("category")
    ctx.results["wealth_model"] = {"ranker": ranker, "evaluation": held_out}
    log.info("models: scored %d customers as of %s in %.1f s", len(scores), as_of, time.perf_counter() - t)
    return [_wealth_section(outcome, as_of), _reasons_section(outcome, _outlet_names(ctx))]


def _history_problem(engine: Engine, warehouse: Path, as_of: date, train: TimeSplit) -> Problem | None:
    """Why the warehouse cannot support the two splits (as zh/en text), or None."""
    txns = engine.table(warehouse, "transactions")
    span = engine.execute(txns.aggregate(first=txns.txn_at.min(), last=txns.txn_at.max()))
    first, last = (_day(span.iloc[0][c]) for c in ("first", "last"))
    if first is None or last is None:
        return "仓库没有交易记录。", "The warehouse has no transactions."
    if last < as_of:
        return (
            f"交易数据截至 {last}，早于运行日期 {as_of}，最近 {HORIZON_DAYS} 天的购买标签不完整。",
            f"Transactions end on {last}, before the as-of date {as_of}: the labels of the last "
            f"{HORIZON_DAYS} days would be incomplete.",
        )
    needed = train.as_of - timedelta(days=MIN_HISTORY_DAYS)
    if first > needed:
        return (
            f"历史不足：交易数据始于 {first}，训练与样本外验证需自 {needed} 起的数据"
            f"（特征截至 {train.as_of} 前 {MIN_HISTORY_DAYS} 天）。",
            f"Too little history: transactions start on {first}; training and out-of-time validation need "
            f"data from {needed} ({MIN_HISTORY_DAYS} days before the features as of {train.as_of}).",
        )
    return None


def _label_problem(splits: tuple[tuple[TimeSplit, np.ndarray], ...]) -> Problem | None:
    for split, labels in splits:
        positives = int(labels.sum())
        if positives < MIN_POSITIVES or len(labels) - positives < MIN_POSITIVES:
            return (
                f"{split.label_first} 至 {split.label_last} 期间购买理财的客户 {positives} 户、未购买 "
                f"{len(labels) - positives} 户，训练与验证各需至少 {MIN_POSITIVES} 户。",
                f"{positives} of {len(labels)} customers bought a wealth product from {split.label_first} to "
                f"{split.label_last}; training and validation need at least {MIN_POSITIVES} buyers and as many "
                "non-buyers.",
            )
    return None


def _day(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.date()


def _labelled(engine: Engine, warehouse: Path, split: TimeSplit) -> tuple[pa.Table, np.ndarray]:
    """Customer features as of the split's date and 0/1 wealth purchases in its label window, row for row.

    The step's own checks (:func:`_history_problem`) say whether the data cover the window, so the label
    query does not require an event on its last day (a quiet last day is not missing data).
    """
    features = engine.to_pyarrow(compute_features(engine, warehouse, "customer", split.as_of))
    features = features.sort_by("customer_id")
    target = get_target(TARGET)
    events = target.events(engine, warehouse)
    labels = label_vector(
        engine, events, features.column("customer_id"), split, at=target.at, require_observed=False
    )
    return features, labels


def _params(rows: int) -> dict[str, Any]:
    # A leaf needs 200 customers at province scale; a small province (tests, pilots) gets proportionally
    # smaller leaves so the trees can still split.
    return {**RANKER, "min_child_samples": int(min(RANKER["min_child_samples"], max(20, rows // 100)))}


def _write_evaluation(outcome: WealthOutcome, path: Path) -> None:
    record = {
        "target": TARGET,
        "target_zh": get_target(TARGET).zh,
        "train_split": str(outcome.train_split),
        "test_split": str(outcome.test_split),
        "rounds": outcome.rounds,
        "ranker": RANKER,
        "reports": [outcome.model.to_dict(), outcome.baseline.to_dict()],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")


def _interval(report: EvaluationReport, metric: str, digits: int) -> str:
    low, high = report.intervals.get(metric, (math.nan, math.nan))
    return "" if math.isnan(low) else f"{report.level:.0%} 区间 {low:.{digits}f}–{high:.{digits}f}"


def _wealth_section(outcome: WealthOutcome, as_of: date) -> Section:
    model, base = outcome.model, outcome.baseline
    train, test = outcome.train_split, outcome.test_split
    kpis = [
        Kpi("AUC", "ROC-AUC, out of time", f"{model.roc_auc:.3f}", note=_interval(model, "roc_auc", 3)),
        Kpi(
            "PR-AUC",
            "average precision",
            f"{model.pr_auc:.3f}",
            note=f"随机 random {model.base_rate:.3f}",
        ),
        Kpi(
            "前10%提升度",
            "Top-decile lift",
            f"{model.top_decile_lift:.2f}",
            "倍",
            _interval(model, "top_decile_lift", 2),
        ),
        Kpi(
            "按AUM排序 AUC",
            "Rank-by-AUM AUC",
            f"{base.roc_auc:.3f}",
            note=f"提升度 lift {base.top_decile_lift:.2f}",
        ),
        Kpi(
            "验证期购买客户",
            "Buyers in the test window",
            fmt_int(model.positives),
            "户",
            f"共 {fmt_int(model.rows)} 户，{fmt_pct(model.base_rate)}",
        ),
    ]
    table = pd.DataFrame(
        [
            {
                "name": r.name,
                "roc_auc": f"{r.roc_auc:.3f}",
                "pr_auc": f"{r.pr_auc:.3f}",
                "top_decile_lift": r.top_decile_lift,
                "brier": "—" if r.brier is None else f"{r.brier:.4f}",
            }
            for r in (model, base)
        ]
    )
    blocks: list[Block] = [
        KpiGrid(kpis),
        Note(
            f"样本外验证：以 {train.as_of} 的特征和 {train.label_first} 至 {train.label_last} 的理财购买训练，"
            f"在 {test.as_of} 的特征上预测 {test.label_first} 至 {test.label_last} 的购买并与实际对比。"
            f"名单评分（{SCORES_FILE}）用同样设置（{outcome.rounds} 轮）以 {test.as_of} 的特征和截至 {as_of} 的"
            "购买重新训练，对截至运行日期的全部客户打分。",
            f"Out of time: trained on features as of {train.as_of} with wealth purchases "
            f"{train.label_first}..{train.label_last}, tested on features as of {test.as_of} against purchases "
            f"{test.label_first}..{test.label_last}. The scores are from the same settings ({outcome.rounds} "
            f"rounds) retrained on {test.as_of} with labels to {as_of}, applied to every customer as of {as_of}.",
        ),
        TableBlock(
            table,
            [
                Column("name", "模型", "Model"),
                Column("roc_auc", "AUC", "ROC-AUC"),
                Column("pr_auc", "PR-AUC", "average precision"),
                Column("top_decile_lift", "前10%提升度", "Top-decile lift", "float"),
                Column("brier", "Brier", "Brier score (probabilities only)"),
            ],
            "模型与基线（同一验证期）",
            "The model against ranking by AUM, same test window",
        ),
        FigureBlock(lift_chart([model, base]), "各评分十分位提升度", "Lift by score decile"),
        FigureBlock(gain_chart([model, base]), "累计覆盖曲线", "Cumulative gain"),
        FigureBlock(reliability_chart([model]), "校准曲线", "Calibration: predicted against observed rate"),
        FigureBlock(pr_curve_chart([model, base]), "精确率-召回率曲线", "Precision-recall"),
    ]
    return Section("wealth-propensity", "购买理财倾向", "Wealth-product propensity", blocks)


def top_decile_reasons(scores: pd.DataFrame, *, share: float = TOP_SHARE, top: int = 3) -> pd.DataFrame:
    """How often each feature is among the top-``top`` reasons of the top ``share`` of customers by rank.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``reason_zh`` (the catalog's zh name), ``customers`` (top-decile customers with it among
        their reasons), ``share`` (of the top decile) and ``first`` (customers for whom it is the first
        reason), most frequent first (ties by feature name).
    """
    n = max(1, math.ceil(len(scores) * share))
    head = scores[scores["rank"] <= n]
    columns = [f"reason_feature_{k}" for k in range(1, top + 1)]
    long = head.melt(id_vars="customer_id", value_vars=columns, value_name="feature").dropna(
        subset=["feature"]
    )
    counts = long.groupby("feature")["customer_id"].nunique().rename("customers")
    first = head["reason_feature_1"].value_counts().rename("first")
    frame = pd.concat([counts, first], axis=1).fillna(0).astype("int64").reset_index(names="feature")
    specs = catalog_specs("customer")
    frame.insert(1, "reason_zh", [specs[f].zh if f in specs else f for f in frame["feature"]])
    frame["share"] = frame["customers"] / len(head)
    return frame.sort_values(["customers", "feature"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def _outlet_names(ctx: RunContext) -> dict[str, str]:
    outlets = ctx.engine.execute(
        ctx.engine.table(ctx.warehouse, "outlets").select("outlet_id", "outlet_name")
    )
    return dict(zip(outlets["outlet_id"], outlets["outlet_name"], strict=True))


def _reasons_section(outcome: WealthOutcome, outlet_names: dict[str, str]) -> Section:
    scores = outcome.scores
    reasons = top_decile_reasons(scores).head(TOP_REASONS)
    examples = scores.head(EXAMPLES).assign(outlet_name=lambda f: f["outlet_id"].map(outlet_names))
    n = max(1, math.ceil(len(scores) * TOP_SHARE))
    blocks: list[Block] = [
        TableBlock(
            reasons,
            [
                Column("reason_zh", "理由", "Reason"),
                Column("feature", "特征", "Feature"),
                Column("customers", "客户数", "Customers", "int"),
                Column("share", "占前10%", "Share of top decile", "pct"),
                Column("first", "首要理由", "As first reason", "int"),
            ],
            f"评分前10%（{fmt_int(n)} 户）最常见的推荐理由",
            "The most frequent reasons among the top-decile customers (each customer's top 3)",
        ),
        TableBlock(
            examples,
            [
                Column("rank", "排名", "Rank", "int"),
                Column("customer_id", "客户号", "Customer id"),
                Column("outlet_name", "归属网点", "Home outlet"),
                Column("score", "购买概率", "Probability", "pct"),
                Column("reason_1", "理由一", "Reason 1"),
                Column("reason_2", "理由二", "Reason 2"),
                Column("reason_3", "理由三", "Reason 3"),
            ],
            f"评分最高的 {EXAMPLES} 位客户",
            f"The {EXAMPLES} highest-scored customers",
            note=f"全部客户的评分、排名与理由见 {SCORES_FILE}（不含姓名、证件、电话）。",
        ),
    ]
    return Section("wealth-reasons", "推荐理由", "Top reasons", blocks)


def _cannot(what_zh: str, what_en: str, problem: Problem) -> Note:
    return Note(
        f"本次运行未生成{what_zh}：{problem[0]}",
        f"{what_en} was not built in this run: {problem[1]}",
        kind="warning",
    )
