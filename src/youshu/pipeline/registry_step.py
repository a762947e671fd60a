"""The pipeline's ``registry`` step: log and register the models this run trained, each with its model card.

It publishes (``youshu.registry.publish``) what the ``models`` and ``risk`` steps left in ``ctx.results``:

- ``wealth_propensity`` (购买理财倾向, 零售金融): the ranker that scored the customers, with the out-of-time
  figures of the step's validation, its holdout rows (outcome, score, gender, age band) for the card's
  breakdown and the step's lift, gain, calibration and precision-recall charts;
- ``risky_accounts`` (涉案账户识别, 金融风险防控): the risk model of ``risk/model/``, with the step's
  out-of-time validation figures, lift and precision-recall charts (account rows carry no gender or age band);
- ``ivl_value`` (IVL 潜在价值, 零售金融): the AUM forecast of the IVL portrait (``AumRegressor``). Its label, the
  AUM a horizon after the run's date, is not observed yet, so it has no out-of-time figure: the card carries a
  customer-halves check instead, labelled as such (the same settings fitted on a random half of the training
  rows — features as of T - H, AUM at T — and tested on the other half, next to "AUM stays as it is").

Every new version becomes ``challenger``; the first version of a name is also ``champion``. The store is the
project's embedded one unless ``registry_uri`` names another. Into the run folder it writes::

    registry/registered.json                       name, version, aliases, MLflow run and model ids, metrics
    registry/<name>/model_card.{md,html,json}      the card of each registered version (the report links it)
    registry/wealth_propensity/model/              the wealth ranker as a youshu folder (what was logged)
    registry/ivl_value/model/                      the IVL value model as a youshu folder (what was logged)

``registry.log_runs: false`` in youshu.yaml turns the step off. Without a trained model it only says so. A
store that cannot be reached does not fail the run: the section says what went wrong.
"""

from __future__ import annotations

import html
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from youshu.atomic import atomic_file
from youshu.errors import YoushuError
from youshu.registry.card import BREAKDOWN_COLUMNS, BusinessArea, CardInfo, card_markdown
from youshu.reports.html import Column, Link, Note, Section, TableBlock

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from youshu.config import Settings
    from youshu.models.ivl.portrait import IvlPortrait
    from youshu.pipeline.run import RunContext
    from youshu.registry.store import RegistryStore

__all__ = [
    "IVL_VALUE_NAME",
    "REGISTERED_FILE",
    "REGISTRY_DIR",
    "RISK_NAME",
    "WEALTH_NAME",
    "Candidate",
    "Registered",
    "card_html",
    "registry_step",
    "value_check",
]

log = logging.getLogger(__name__)

REGISTRY_DIR = "registry"
REGISTERED_FILE = f"{REGISTRY_DIR}/registered.json"
WEALTH_NAME = "wealth_propensity"
RISK_NAME = "risky_accounts"
IVL_VALUE_NAME = "ivl_value"
#: Seed of the customer halves of the IVL value model's check.
VALUE_CHECK_SEED = 0
#: The use cases shipped with youshu (``<repo>/definitions/use_cases``), when the project has none.
SHIPPED_USE_CASES = Path(__file__).resolve().parents[3] / "definitions" / "use_cases"
SECTION = ("registry", "模型登记", "Model registry")


@dataclass(frozen=True)
class Candidate:
    """A model of this run ready to publish: its youshu folder, card text, figures and evaluation.

    Attributes
    ----------
    name : str
        Registered model name.
    folder : Path
        The saved youshu model folder (logged as the pyfunc model's artifact).
    info : CardInfo
    metrics : dict
        Out-of-time figures (numbers become MLflow metrics, text becomes ``youshu.metric.*`` tags).
    key_metric : str
        The metric shown in the report's table.
    definitions : list of Path
        Definition folders the model used (hashed onto the card).
    evaluation : pandas.DataFrame or None
        Out-of-time rows ``y, score`` (and ``gender``, ``age_band`` when known).
    charts : dict of str to plotly Figure
    """

    name: str
    folder: Path
    info: CardInfo
    metrics: dict[str, Any]
    key_metric: str
    definitions: list[Path]
    evaluation: pd.DataFrame | None
    charts: dict[str, go.Figure]


@dataclass(frozen=True)
class Registered:
    """A version registered by this run (one row of the report's table and of ``registry/registered.json``)."""

    name: str
    name_zh: str
    business_area: str
    version: str
    aliases: list[str]
    champion: str | None
    key_metric: str
    key_value: float | None
    run_id: str
    model_id: str
    card: str  # the card's HTML file, relative to the run folder

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def registry_step(
    ctx: RunContext, *, settings: Settings | None = None, store: RegistryStore | None = None
) -> list[Section]:
    """Log and register the models the ``risk`` and ``models`` steps trained, with cards, into the registry.

    Parameters
    ----------
    ctx : RunContext
        The run; reads ``ctx.results["wealth"]``, ``["wealth_model"]``, ``["risk"]`` and ``["ivl"]``.
    settings : Settings, optional
        Default: ``youshu.config.get_settings()`` (``registry.log_runs``, ``registry_uri``, definitions).
    store : RegistryStore, optional
        Default: ``youshu.registry.store.resolve_store(settings)``.

    Returns
    -------
    list of Section
        One section, 模型登记 Model registry (none when ``registry.log_runs`` is false).
    """
    if settings is None:
        from youshu.config import get_settings

        settings = get_settings()
    if not settings.registry.log_runs:
        log.info("registry: off (registry.log_runs: false); nothing logged")
        return []
    t = time.perf_counter()
    candidates = _candidates(ctx, settings)
    if not candidates:
        return [
            Section(
                *SECTION,
                [
                    Note(
                        "本次运行没有训练出模型（见 购买理财倾向 与 风险账户 两节），未登记任何模型。",
                        "No model was trained in this run (see the wealth propensity and risk sections), so "
                        "nothing was registered.",
                    )
                ],
            )
        ]
    problems: list[str] = []
    done: list[Registered] = []
    try:
        if store is None:
            from youshu.registry.store import resolve_store

            store = resolve_store(settings)
        for candidate in candidates:
            try:
                done.append(_publish(ctx, store, candidate))
            except Exception as exc:
                if not _registry_failure(exc):
                    raise
                log.warning("registry: %s not registered: %s", candidate.name, exc)
                problems.append(f"{candidate.name}: {exc}")
    except YoushuError as exc:  # the store itself is not usable
        log.warning("registry: nothing registered: %s", exc)
        problems.append(str(exc))
    if done:
        _write_text(
            ctx.out_dir / REGISTERED_FILE,
            json.dumps([r.to_dict() for r in done], ensure_ascii=False, indent=1) + "\n",
        )
    log.info("registry: %d model(s) registered in %.1f s", len(done), time.perf_counter() - t)
    where = store.describe() if store is not None else str(settings.registry_uri)
    ctx.results["registry"] = done
    return [_section(done, problems, where)]


def _registry_failure(exc: Exception) -> bool:
    """Whether ``exc`` is the registry failing (reported in the section) rather than a bug (raised)."""
    from youshu.registry.store import import_mlflow

    import_mlflow()
    from mlflow.exceptions import MlflowException

    return isinstance(exc, YoushuError | MlflowException | OSError)


# -- what this run trained --------------------------------------------------------------------------------


def _candidates(ctx: RunContext, settings: Settings) -> list[Candidate]:
    found = []
    if "wealth" in ctx.results and "wealth_model" in ctx.results:
        found.append(_wealth_candidate(ctx, settings))
    risk = ctx.results.get("risk")
    if isinstance(risk, dict) and risk.get("model_dir") is not None and Path(risk["model_dir"]).is_dir():
        found.append(_risk_candidate(ctx, settings, risk))
    if "ivl" in ctx.results:
        try:
            found.append(_ivl_value_candidate(ctx, settings))
        except YoushuError as exc:  # e.g. the training date's features cannot be recomputed
            log.warning("registry: %s not registered: %s", IVL_VALUE_NAME, exc)
    return found


def _use_case(settings: Settings, name: str) -> tuple[str, str | None]:
    """(use-case id, owner team) of the catalogued use case listing ``name`` (empty when there is none)."""
    from youshu.registry.usecases import UseCaseError, load_use_cases, use_case_for_model

    project = settings.resolve(settings.definitions_dir) / "use_cases"
    try:
        case = use_case_for_model(load_use_cases(project if project.is_dir() else SHIPPED_USE_CASES), name)
    except UseCaseError as exc:
        log.warning("registry: use cases not read (%s); the card of %s names none", exc, name)
        return "", None
    return (case.id, case.owner_team) if case else ("", None)


def _wealth_candidate(ctx: RunContext, settings: Settings) -> Candidate:
    from youshu.models.charts import gain_chart, lift_chart, pr_curve_chart, reliability_chart
    from youshu.models.store import ModelCard, save_model
    from youshu.pipeline.models_step import HORIZON_DAYS, RANKER, TARGET, default_ivl_definitions

    outcome, kept = ctx.results["wealth"], ctx.results["wealth_model"]
    model, baseline = outcome.model, outcome.baseline
    metrics: dict[str, Any] = {
        "holdout": str(outcome.test_split),
        "trained_on": str(outcome.train_split),
        "rows": model.rows,
        "positives": model.positives,
        "base_rate": model.base_rate,
        "roc_auc": model.roc_auc,
        "pr_auc": model.pr_auc,
        "top_decile_lift": model.top_decile_lift,
        "brier": model.brier,
        "calibration_error": model.calibration_error,
        "rank_by_aum_roc_auc": baseline.roc_auc,
        "rank_by_aum_top_decile_lift": baseline.top_decile_lift,
    }
    for metric, interval in model.intervals.items():
        metrics[f"{metric}_low"], metrics[f"{metric}_high"] = float(interval[0]), float(interval[1])
    card = ModelCard(
        target=TARGET,
        as_of=ctx.as_of,
        horizon_days=HORIZON_DAYS,
        metrics=metrics,
        notes={
            "train_as_of": outcome.test_split.as_of.isoformat(),
            "rows": model.rows,
            "positives": model.positives,
            "rounds": outcome.rounds,
            "ranker": dict(RANKER),
            "trained_by": f"youshu run {ctx.name}",
        },
    )
    folder = save_model(kept["ranker"], card, ctx.out_dir / REGISTRY_DIR / WEALTH_NAME / "model")
    use_case, owner = _use_case(settings, WEALTH_NAME)
    info = CardInfo(
        name_zh="购买理财倾向",
        name_en="Wealth-product propensity",
        business_area=BusinessArea.RETAIL,
        use_case=use_case,
        owner_team=owner or "零售金融部 retail banking",
        intended_use=(
            f"按未来 {HORIZON_DAYS} 天购买本行理财的概率给客户排序，生成网点跟进名单 (rank customers by the "
            f"probability of buying a wealth product in the next {HORIZON_DAYS} days, for outreach lists)"
        ),
        limitations=(
            "样本外指标来自本仓库的一个验证期；晋升前用 youshu models compare 在新数据上复核；不用于授信 "
            "(out-of-time figures are from one window of this warehouse: re-measure with `youshu models "
            "compare` before promoting; not for credit decisions)"
        ),
    )
    ivl = ctx.results.get("ivl_definitions") or default_ivl_definitions()
    return Candidate(
        name=WEALTH_NAME,
        folder=folder,
        info=info,
        metrics=metrics,
        key_metric="roc_auc",
        definitions=[settings.resolve(settings.definitions_dir) / "tags", Path(ivl)],
        evaluation=kept.get("evaluation"),
        charts={
            "提升度 Lift": lift_chart([model, baseline]),
            "累计覆盖 Cumulative gain": gain_chart([model, baseline]),
            "校准 Calibration": reliability_chart([model]),
            "精确率-召回率 Precision-recall": pr_curve_chart([model, baseline]),
        },
    )


def _risk_candidate(ctx: RunContext, settings: Settings, risk: dict[str, Any]) -> Candidate:
    from youshu.models.charts import lift_chart, pr_curve_chart
    from youshu.models.evaluation import evaluate
    from youshu.models.risk.rules import DEFAULT_RULES
    from youshu.pipeline.risk_step import VALIDATION_BUDGET

    metrics: dict[str, Any] = {}
    charts: dict[str, go.Figure] = {}
    validation, rows = risk.get("validation"), risk.get("evaluation")
    if validation is not None and len(validation):
        first, *others = validation.to_dict(orient="records")  # with graph features first, then without
        metrics = {
            "roc_auc": first["roc_auc"],
            "pr_auc": first["pr_auc"],
            f"precision_at_{VALIDATION_BUDGET}_per_day": first["precision"],
            f"recall_at_{VALIDATION_BUDGET}_per_day": first["recall"],
            "positives": int(first["positives"]),
            "rows": int(first["rows"]),
            **{f"without_graph_{k}": other[k] for other in others for k in ("roc_auc", "pr_auc")},
        }
    if risk.get("validation_dates"):
        train_dates, test_dates = risk["validation_dates"]
        metrics["trained_on"] = f"{train_dates[0]}..{train_dates[-1]}"
        metrics["holdout"] = ", ".join(map(str, test_dates))
    if rows is not None and 0 < int(rows["y"].sum()) < len(rows):
        report = evaluate(rows["y"], rows["score"], name="风险模型 RiskModel", n_boot=0)
        charts = {"提升度 Lift": lift_chart(report), "精确率-召回率 Precision-recall": pr_curve_chart(report)}
    use_case, owner = _use_case(settings, RISK_NAME)
    info = CardInfo(
        name_zh="涉案账户识别",
        name_en="Risky (money-mule) accounts",
        business_area=BusinessArea.RISK,
        use_case=use_case,
        owner_team=owner or "风险合规部 risk and compliance",
        intended_use=(
            "每天给近30天有交易的账户按涉案风险排序，在预警额度内交人工核查 (rank accounts active in the last "
            "30 days by money-mule risk for a daily budget of alerts that people investigate)"
        ),
        limitations=(
            "标签只来自截至运行日已通报的案件，之后通报的按正常计，指标偏低；原因是模型学到的关联，不是证据；"
            "账户样本无性别、年龄段，无分组指标 (labels are the cases reported by the run's date, so the figures "
            "understate the model; a reason is an association, not proof; account rows carry no gender or age "
            "band, so the card has no group breakdown)"
        ),
    )
    return Candidate(
        name=RISK_NAME,
        folder=Path(risk["model_dir"]),
        info=info,
        metrics=metrics,
        key_metric="pr_auc",
        definitions=[DEFAULT_RULES.parent],
        evaluation=None if rows is None else rows[["y", "score"]],
        charts=charts,
    )


def value_check(ctx: RunContext, portrait: IvlPortrait) -> tuple[dict[str, Any], pd.DataFrame]:
    """A customer-halves check of the IVL value model: figures (labelled as what they are) and the test rows.

    The value model predicts the AUM a horizon H after T, which is not observed as of T, so it has no
    out-of-time figure. This refits its settings on a random half of its own training rows (features as of
    T - H, AUM at T) and measures the other half: Spearman and mean absolute log error of the forecast,
    next to the same for "AUM stays as it is" (the AUM as of T - H). Different customers, same window.

    Returns
    -------
    (dict, pandas.DataFrame)
        The figures, and the test rows ``customer_id, predicted_aum_fen, realised_aum_fen, current_aum_fen``.
    """
    import numpy as np
    from scipy.stats import spearmanr

    from youshu.features import compute_features
    from youshu.models.ivl.value import AumRegressor, align_later_aum

    t_h = portrait.value_train_as_of
    before = ctx.engine.execute(compute_features(ctx.engine, ctx.warehouse, "customer", t_h))
    before = before.sort_values("customer_id").reset_index(drop=True)
    realised = align_later_aum(before, portrait.table[["customer_id", "aum_fen"]])
    half = np.random.default_rng(VALUE_CHECK_SEED).random(len(before)) < 0.5
    model = AumRegressor(**portrait.value_model.get_params()).fit(before[half], realised[half])
    predicted = model.predict(before[~half])
    truth = realised[~half]
    current = pd.to_numeric(before["aum_fen"], errors="coerce").fillna(0).to_numpy(dtype="float64")[~half]

    def mean_abs_log(forecast: Any) -> float:
        return float(np.mean(np.abs(np.log1p(np.clip(forecast, 0, None)) - np.log1p(truth))))

    metrics: dict[str, Any] = {
        "check": (
            f"customer halves, not out of time: fitted on a random half (seed {VALUE_CHECK_SEED}) of the "
            f"customers' features as of {t_h} with their AUM at {ctx.as_of}, tested on the other half"
        ),
        "trained_on": f"features as of {t_h}, AUM at {ctx.as_of}",
        "rows": len(before),
        "check_rows": int((~half).sum()),
        "halves_spearman": float(spearmanr(predicted, truth).statistic),
        "halves_mean_abs_log_error": mean_abs_log(predicted),
        "persistence_spearman": float(spearmanr(current, truth).statistic),
        "persistence_mean_abs_log_error": mean_abs_log(current),
    }
    rows = pd.DataFrame(
        {
            "customer_id": before["customer_id"].to_numpy()[~half],
            "predicted_aum_fen": predicted,
            "realised_aum_fen": truth,
            "current_aum_fen": current,
        }
    )
    return metrics, rows


def _ivl_value_candidate(ctx: RunContext, settings: Settings) -> Candidate:
    from youshu.models.charts import forecast_decile_chart

    portrait: IvlPortrait = ctx.results["ivl"]
    horizon = (ctx.as_of - portrait.value_train_as_of).days
    metrics, rows = value_check(ctx, portrait)
    folder = portrait.value_model.save(
        ctx.out_dir / REGISTRY_DIR / IVL_VALUE_NAME / "model",
        as_of=ctx.as_of,
        horizon_days=horizon,
        metrics=metrics,
        notes={"train_as_of": portrait.value_train_as_of.isoformat(), "trained_by": f"youshu run {ctx.name}"},
    )
    use_case, owner = _use_case(settings, IVL_VALUE_NAME)
    info = CardInfo(
        name_zh="IVL 潜在价值",
        name_en="IVL potential value (AUM forecast)",
        business_area=BusinessArea.RETAIL,
        use_case=use_case,
        owner_team=owner or "零售金融部 retail banking",
        intended_use=(
            f"预测每位客户 {horizon} 天后的 AUM（分），作为 IVL 画像的潜在价值维度（高/中/低）与增长空间，用于客户"
            f"分层经营 (forecast each customer's AUM in fen {horizon} days ahead: the potential-value dimension "
            "of the IVL portrait, high/medium/low and upside, for tiered relationship management)"
        ),
        limitations=(
            "标签（运行日之后的 AUM）尚未发生，没有样本外（跨时间）指标；卡上的指标是同一时间窗内按客户对半拆分的"
            "检验，并列出“AUM 保持不变”的基线；在资产结构变化或利率环境改变时会偏；不用于授信；无性别、年龄段"
            "分组指标 (its label, the AUM after the run's date, is not observed yet, so there is no out-of-time "
            "figure; the card's figures are a customer-halves check in the training window, next to the "
            "'AUM stays as it is' baseline; it drifts when the asset mix or rates change; not for credit "
            "decisions; no gender or age-band breakdown)"
        ),
    )
    ivl = ctx.results.get("ivl_definitions")
    if ivl is None:
        from youshu.pipeline.models_step import default_ivl_definitions

        ivl = default_ivl_definitions()
    return Candidate(
        name=IVL_VALUE_NAME,
        folder=folder,
        info=info,
        metrics=metrics,
        key_metric="halves_spearman",
        definitions=[Path(ivl)],
        evaluation=None,
        charts={
            "预测与实际（客户对半检验）Forecast and realised, customer halves": forecast_decile_chart(
                rows["predicted_aum_fen"], rows["realised_aum_fen"], name="AumRegressor"
            )
        },
    )


# -- publishing --------------------------------------------------------------------------------------------


def _publish(ctx: RunContext, store: RegistryStore, candidate: Candidate) -> Registered:
    from youshu.registry.publish import log_model, register
    from youshu.registry.store import client

    t = time.perf_counter()
    logged = log_model(
        store,
        candidate.folder,
        candidate.info,
        registered_name=candidate.name,
        metrics=candidate.metrics,
        params={"youshu.run": ctx.name},
        definitions=candidate.definitions,
        warehouse=ctx.warehouse,
        as_of=ctx.as_of,
        evaluation=candidate.evaluation,
        charts=candidate.charts,
    )
    version, aliases = register(store, candidate.name, logged)
    champion = dict(client(store).get_registered_model(candidate.name).aliases or {}).get("champion")
    folder = ctx.out_dir / REGISTRY_DIR / candidate.name
    folder.mkdir(parents=True, exist_ok=True)
    card = logged.card
    _write_text(folder / "model_card.md", card_markdown(card))
    _write_text(folder / "model_card.html", card_html(card))
    _write_text(folder / "model_card.json", json.dumps(card, ensure_ascii=False, indent=1) + "\n")
    value = candidate.metrics.get(candidate.key_metric)
    log.info(
        "registry: %s v%s (%s) in %.1f s",
        candidate.name,
        version,
        ", ".join(aliases),
        time.perf_counter() - t,
    )
    return Registered(
        name=candidate.name,
        name_zh=candidate.info.name_zh,
        business_area=candidate.info.business_area.value,
        version=version,
        aliases=aliases,
        champion=None if champion is None else str(champion),
        key_metric=candidate.key_metric,
        key_value=float(value) if isinstance(value, int | float) and math.isfinite(value) else None,
        run_id=logged.run_id,
        model_id=logged.model_id,
        card=f"{REGISTRY_DIR}/{candidate.name}/model_card.html",
    )


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# -- the model card as a page -------------------------------------------------------------------------------

_CARD_CSS = (
    "body{font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;max-width:60rem;"
    "margin:2rem auto;padding:0 1rem;color:#222}h1{color:#00794a}table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}td:first-child,th:first-child"
    "{text-align:left}code{font-size:.85em;word-break:break-all}"
)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card_html(card: dict[str, Any]) -> str:
    """A model card (``youshu.registry.card.build_card``) as one self-contained HTML page (zh with English)."""
    e = html.escape
    facts = [
        ("业务领域 Business area", f"{card['business_area']} ({card['business_area_en']})"),
        ("应用案例 Use case", card["use_case"] or "–"),
        ("负责团队 Owner team", card["owner_team"]),
        ("注册名 Registered name", f"{card['registered_name'] or '–'} ({card['kind']})"),
        ("适用范围 Intended use", card["intended_use"] or "–"),
        ("局限 Limitations", card["limitations"] or "–"),
    ]
    parts = [
        f"<h1>{e(card['name_zh'])} {e(card['name_en'])}</h1>",
        "<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(str(v))}</li>" for k, v in facts) + "</ul>",
        "<h2>训练 Training</h2>",
        _table(["", ""], [[k, v] for k, v in card["training"].items() if not isinstance(v, dict | list)]),
        "<h2>样本外指标 Out-of-time metrics</h2>",
        _table(["指标 metric", "值 value"], [[k, v] for k, v in card["metrics"].items()])
        if card["metrics"]
        else "<p>未测量 (none measured)</p>",
    ]
    for column, rows in card["breakdown"].items():
        parts.append(f"<h2>分组指标 By {e(column)} ({e(BREAKDOWN_COLUMNS.get(column, column))})</h2>")
        parts.append(
            _table(
                [column, "rows", "positives", "base rate", "ROC-AUC", "PR-AUC"],
                [
                    [r[column], r["rows"], r["positives"], r["base_rate"], r["roc_auc"], r["pr_auc"]]
                    for r in rows
                ],
            )
        )
    fingerprint = card["data_fingerprint"]
    parts += [
        "<h2>来源 Provenance</h2>",
        f"<p>特征 Features ({len(card['features'])}): {e(', '.join(card['features']))}</p>",
        f"<p>定义哈希 Definitions hash: <code>{e(card['definitions_hash'])}</code></p>",
        f"<p>数据指纹 Data fingerprint: as of {e(str(fingerprint.get('as_of')))}, "
        f"<code>{e(str(fingerprint.get('hash')))}</code></p>",
        _table(
            ["表 table", "rows", "files", "hash"],
            [[n, t["rows"], t["files"], t["hash"]] for n, t in fingerprint.get("tables", {}).items()],
        ),
        f"<p>youshu {e(str(card['youshu_version']))}</p>",
    ]
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>模型卡 {e(card['name_zh'])}</title><style>{_CARD_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


# -- the report section ------------------------------------------------------------------------------------


def _section(done: list[Registered], problems: list[str], where: str) -> Section:
    blocks: list[Any] = []
    if done:
        table = pd.DataFrame(
            [
                {
                    "name": r.name,
                    "name_zh": r.name_zh,
                    "business_area": r.business_area,
                    "version": f"v{r.version}",
                    "aliases": ", ".join(r.aliases),
                    "champion": "–" if r.champion is None else f"v{r.champion}",
                    "metric": r.key_metric,
                    "value": r.key_value,
                    "card": r.card,
                }
                for r in done
            ]
        )
        blocks.append(
            TableBlock(
                table,
                [
                    Column("name", "注册名", "Registered name"),
                    Column("name_zh", "模型", "Model"),
                    Column("business_area", "业务领域", "Business area"),
                    Column("version", "新版本", "New version"),
                    Column("aliases", "别名", "Aliases"),
                    Column("champion", "冠军版本", "Champion"),
                    Column("metric", "关键指标", "Key metric"),
                    Column("value", "样本外值", "Out of time", "float"),
                    Column("card", "模型卡", "Model card"),
                ],
                "本次运行登记的模型版本",
                "Model versions registered by this run",
            )
        )
        blocks += [
            Link(
                r.card,
                f"{r.name_zh} 模型卡",
                f"{r.name} v{r.version} model card",
                f"Markdown: {r.card[:-4]}md",
            )
            for r in done
        ]
        first = done[0].name
        blocks.append(
            Note(
                f"每个新版本为挑战者 (challenger)，某模型的第一个版本同时为冠军 (champion)。登记库：{where}。"
                f"先用 youshu models compare {first} --as-of <日期> 在同一样本外窗口比较冠军与挑战者，"
                f"再用 youshu models promote {first} 把冠军移到挑战者；旧冠军保留版本号。"
                "IVL 潜在价值模型 (ivl_value) 的标签尚未发生，其指标为按客户对半拆分的检验，不是样本外指标。",
                f"Each new version is the challenger; the first version of a model is also the champion. "
                f"Registry: {where}. Compare champion and challenger on the same out-of-time window with "
                f"`youshu models compare {first} --as-of DATE`, then `youshu models promote {first}` moves "
                "champion to the challenger (the old champion keeps its version number). The IVL value model "
                "(ivl_value) forecasts an AUM not observed yet: its figures are a customer-halves check, not "
                "out of time.",
            )
        )
    for problem in problems:
        blocks.append(
            Note(
                f"登记失败（运行结果不受影响）：{problem}",
                "Registration failed; the run's other outputs are unaffected. Fix the registry (registry_uri) "
                "and rerun, or set registry.log_runs: false in youshu.yaml.",
                kind="warning",
            )
        )
    return Section(*SECTION, blocks)
