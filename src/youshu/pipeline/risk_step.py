"""The pipeline's ``risk`` step: train the risky-account model on reported cases, alert, and sum up the risk.

As of the run's date T the bank knows the cases reported to it by T (the canonical ``risk_cases`` table:
police notices and its own investigations). The step

1. builds account frames (risk and transfer-graph features) on training dates every
   :data:`TRAIN_EVERY_DAYS` days from T - :data:`TRAIN_SPAN_DAYS` to T - :data:`TRAIN_GAP_DAYS`, labelled
   with those cases (an account is positive on a date when its reported activity overlaps the 30 days
   ending on it);
2. validates out of time on the same frames: a model fitted on the earlier dates is measured on the last
   dates (at least 30 days later) against the cases reported by T. Mules active then and reported after T
   count as negatives, so these figures understate the model;
3. fits the model on every training date, scores every account active in the 30 days up to T and to
   T - :data:`REFERENCE_DAYS` (and T - 2 × that for the trend), raises the day's top :data:`ALERT_BUDGET`
   alerts with reasons and counterparties, and computes the situational-awareness tables (per outlet and
   county, high-risk accounts over time, PSI drift, rising outlets) and the 风险账户 customer flags that
   target lists exclude.

Into the run folder it writes::

    risk/model/                                    the fitted model (``youshu risk score --model`` reads it)
    risk/scores.parquet                            every scored account on T
    risk/alerts.xlsx, risk/alerts.parquet          the day's alerts, personal data masked
    risk/customer_risk_flags/as_of_date=<T>/       风险账户 per customer (is_risky_account)
    risk/{by_outlet,by_county,trend,high_risk_trend,rising_outlets,drift,validation}.parquet

Without enough reported cases it writes nothing but explains, in the report, how to train a model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.atomic import atomic_file
from youshu.engine.base import Tables
from youshu.features.risk import ledger_from_transactions
from youshu.models.evaluation import at_budget, pr_auc, roc_auc
from youshu.models.risk import (
    RiskModel,
    awareness_summary,
    export_alerts,
    fit_risk_model,
    label_accounts,
    read_cases,
    write_customer_flags,
)
from youshu.models.risk.alerts import alert_counterparties, top_alerts
from youshu.models.risk.awareness import AwarenessSummary
from youshu.models.risk.evaluate import collect_frames, date_range
from youshu.models.risk.labels import LABEL_WINDOW_DAYS
from youshu.reports.html import (
    Column,
    FigureBlock,
    Format,
    Kpi,
    KpiGrid,
    Note,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
)
from youshu.schema.storage import parquet_files, table_dir

if TYPE_CHECKING:
    from youshu.pipeline.run import RunContext

__all__ = ["ALERT_BUDGET", "CASES_TABLE", "HIGH_RISK", "high_risk_trend", "reported_cases", "risk_step"]

log = logging.getLogger(__name__)

CASES_TABLE = "risk_cases"
#: Alerts raised on the run's date.
ALERT_BUDGET = 100
#: Training dates: every TRAIN_EVERY_DAYS from T - TRAIN_SPAN_DAYS to T - TRAIN_GAP_DAYS (cases of the last
#: weeks before T are mostly not reported yet, so those dates would teach the model wrong negatives).
TRAIN_SPAN_DAYS, TRAIN_GAP_DAYS, TRAIN_EVERY_DAYS = 240, 72, 28
#: The earlier date of the drift and rising-outlet comparison.
REFERENCE_DAYS = 28
#: Positive account-days the training dates need before a model is fitted.
MIN_POSITIVES = 20
#: Score from which an account counts as high-risk in the trend (a count that can move, unlike the alerts).
HIGH_RISK = 0.5
#: Counties drawn in the trend next to the province; the label of the province's row.
TREND_COUNTIES, PROVINCE = 5, "全省"
#: Alerts and counties shown in the report (the exports have all of them).
SHOWN_ALERTS, SHOWN_COUNTIES = 15, 20
#: Daily alert budget of the in-run validation (the day's budget scaled to a small province is meaningless).
VALIDATION_BUDGET = 100


def reported_cases(warehouse: Path, as_of: date) -> pd.DataFrame:
    """The confirmed cases reported on or before ``as_of`` (empty when the warehouse has no ``risk_cases``)."""
    folder = table_dir(warehouse, CASES_TABLE)
    if not parquet_files(folder):
        return pd.DataFrame(columns=["account_id", "active_from", "active_to", "reported_on"])
    cases = read_cases(folder)
    reported = pd.to_datetime(cases["reported_on"]).dt.date
    return cases[reported <= as_of].reset_index(drop=True)


@dataclass(frozen=True)
class _Validation:
    train_dates: list[date]
    test_dates: list[date]
    metrics: pd.DataFrame  # scorer, pr_auc, roc_auc, precision/recall at the budget, positives, rows
    evaluation: pd.DataFrame | None = None  # y, score (with graph features), as_of_date of the test rows


def _validate(frames: pd.DataFrame, y: pd.Series, dates: list[date]) -> _Validation | None:
    """Fit on the early dates, measure on the last ones (at least LABEL_WINDOW_DAYS later)."""
    last = dates[-1]
    test_dates = [d for d in dates if d > last - timedelta(days=TRAIN_EVERY_DAYS * 2)]
    cut = min(test_dates) - timedelta(days=LABEL_WINDOW_DAYS)
    train_dates = [d for d in dates if d <= cut]
    train = frames["as_of_date"].isin(train_dates).to_numpy()
    test = frames["as_of_date"].isin(test_dates).to_numpy()
    if not train_dates or y[train].sum() < MIN_POSITIVES // 2 or y[test].sum() == 0 or y[test].all():
        return None
    model = fit_risk_model(frames[train], y[train], graph=True)
    plain = fit_risk_model(frames[train], y[train], graph=False)
    scores = {
        "含图特征 with graph features": model.score(frames[test])["score"].to_numpy(),
        "无图特征 without graph features": plain.classifier.predict_proba(frames[test])[:, 1],
    }
    yt = y[test].to_numpy()
    days = frames.loc[test, "as_of_date"].astype(str).to_numpy()
    rows = []
    for name, s in scores.items():
        top = at_budget(yt, s, VALIDATION_BUDGET, groups=days)
        rows.append(
            {
                "scorer": name,
                "pr_auc": pr_auc(yt, s),
                "roc_auc": roc_auc(yt, s),
                "precision": top.precision,
                "recall": top.recall,
                "positives": int(yt.sum()),
                "rows": len(yt),
            }
        )
    held_out = pd.DataFrame(
        {"y": yt.astype(int), "score": scores["含图特征 with graph features"], "as_of_date": days}
    )
    return _Validation(train_dates, test_dates, pd.DataFrame(rows), held_out)


def _write(table: pd.DataFrame, path: Path) -> None:
    with atomic_file(path) as tmp:
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)


def risk_step(ctx: RunContext) -> list[Section]:
    """Train on the cases reported by ``ctx.as_of``, alert on it, and sum up the risk per outlet and county.

    Returns
    -------
    list of Section
        One section, 风险账户 risky accounts.
    """
    as_of = ctx.as_of
    cases = reported_cases(ctx.warehouse, as_of)
    dates = date_range(
        as_of - timedelta(days=TRAIN_SPAN_DAYS), as_of - timedelta(days=TRAIN_GAP_DAYS), TRAIN_EVERY_DAYS
    )
    if len(cases) == 0:
        return [
            _no_model(f"截至 {as_of} 没有已通报的涉案账户 (表 {CASES_TABLE} 为空或不存在)", len(cases), 0)
        ]
    log.info("risk: account frames on %d training dates", len(dates))
    frames = collect_frames(ctx.engine, ctx.warehouse, dates)
    y = pd.Series(label_accounts(frames["account_id"], frames["as_of_date"], cases).astype(int))
    if y.sum() < MIN_POSITIVES:
        reason = f"训练日期上只有 {int(y.sum())} 个涉案账户日 (至少需要 {MIN_POSITIVES})"
        return [_no_model(reason, len(cases), int(y.sum()))]
    validation = _validate(frames, y, dates)
    model = fit_risk_model(frames, y, graph=True)
    out = ctx.out_dir / "risk"
    model.save(out / "model")

    reference = as_of - timedelta(days=REFERENCE_DAYS)
    earlier = as_of - timedelta(days=2 * REFERENCE_DAYS)
    now_frame, ref_frame, earlier_frame = (
        collect_frames(ctx.engine, ctx.warehouse, [d]) for d in (as_of, reference, earlier)
    )
    scores = pd.concat([model.score(ref_frame), model.score(now_frame)], ignore_index=True)
    trend = high_risk_trend(pd.concat([model.score(earlier_frame), scores], ignore_index=True))
    _write(trend, out / "high_risk_trend.parquet")
    summary = awareness_summary(
        scores, budget=ALERT_BUDGET, reference_frame=ref_frame, current_frame=now_frame
    )
    today = scores[scores["as_of_date"].astype(str) == as_of.isoformat()]
    _write(today.sort_values(["score", "account_id"], ascending=[False, True]), out / "scores.parquet")
    alerts = top_alerts(model, now_frame, ALERT_BUDGET)
    ledger = ledger_from_transactions(Tables(ctx.engine, ctx.warehouse))
    cps = alert_counterparties(ctx.engine, ledger, alerts["account_id"].tolist(), as_of)
    alerts = alerts.merge(cps, on="account_id", how="left").fillna({"counterparties": ""})
    for suffix in (".xlsx", ".parquet"):
        export_alerts(alerts, out / f"alerts{suffix}", warehouse=ctx.warehouse, exported_by="youshu run")
    flags = summary.flags[summary.flags["as_of_date"].astype(str) == as_of.isoformat()]
    write_customer_flags(flags, out)
    for name in ("by_outlet", "by_county", "trend", "rising_outlets", "drift"):
        table = getattr(summary, name)
        if table is not None:
            _write(table, out / f"{name}.parquet")
    if validation is not None:
        _write(validation.metrics, out / "validation.parquet")
    ctx.results["risk"] = {
        "model": model,
        "flags": flags,
        "alerts": alerts,
        "validation": None if validation is None else validation.metrics,
        # For the registry step: where the model is saved and the out-of-time rows and dates behind its figures.
        "model_dir": out / "model",
        "evaluation": None if validation is None else validation.evaluation,
        "validation_dates": None if validation is None else (validation.train_dates, validation.test_dates),
    }
    return [_section(ctx, model, cases, validation, summary, alerts, flags, today, trend)]


def _no_model(reason: str, cases: int, positives: int) -> Section:
    return Section(
        "risk",
        "风险账户",
        "Risky accounts",
        (
            KpiGrid((Kpi("已通报涉案账户", "reported cases", fmt_int(cases)),)),
            Note(
                f"未训练风险模型: {reason}。导入涉案账户通报 (risk_cases) 或用 youshu risk train --labels 训练。",
                f"No risk model trained ({positives} positive account-days): import confirmed cases "
                "(risk_cases) or train one with youshu risk train --labels FILE.",
                kind="warning",
            ),
        ),
    )


def _section(
    ctx: RunContext,
    model: RiskModel,
    cases: pd.DataFrame,
    validation: _Validation | None,
    summary: AwarenessSummary,
    alerts: pd.DataFrame,
    flags: pd.DataFrame,
    today: pd.DataFrame,
    trend: pd.DataFrame,
) -> Section:
    risky_customers = int(flags["is_risky_account"].sum())
    blocks: list = [
        KpiGrid(
            (
                Kpi("评分账户", "accounts scored", fmt_int(len(today)), note="近30天有交易"),
                Kpi("今日预警", "alerts today", fmt_int(len(alerts))),
                Kpi(
                    "风险账户客户",
                    "customers flagged 风险账户",
                    fmt_int(risky_customers),
                    note="营销名单剔除",
                ),
                Kpi("已通报涉案账户", "reported cases", fmt_int(len(cases)), note=f"截至 {ctx.as_of}"),
                Kpi(
                    "训练样本",
                    "training account-days",
                    fmt_int(model.info.get("rows")),
                    note=f"{fmt_int(model.info.get('positives'))} 涉案",
                ),
            )
        )
    ]
    if validation is not None:
        m = validation.metrics
        blocks.append(
            TableBlock(
                m,
                (
                    Column("scorer", "模型", "scorer"),
                    Column("pr_auc", "PR-AUC", "", "float"),
                    Column("roc_auc", "ROC-AUC", "", "float"),
                    Column(
                        "precision",
                        f"前{VALIDATION_BUDGET}预警精确率",
                        f"precision at {VALIDATION_BUDGET}/day",
                        "pct",
                    ),
                    Column(
                        "recall",
                        f"前{VALIDATION_BUDGET}预警召回率",
                        f"recall at {VALIDATION_BUDGET}/day",
                        "pct",
                    ),
                    Column("positives", "涉案账户日", "positive account-days", "int"),
                    Column("rows", "账户日", "account-days", "int"),
                ),
                title_zh="跨时间验证",
                title_en=(
                    f"Out-of-time validation: trained on {validation.train_dates[0]}..{validation.train_dates[-1]}, "
                    f"tested on {', '.join(map(str, validation.test_dates))}"
                ),
                note=(
                    "标签只来自截至报告日已通报的案件; 之后才通报的涉案账户按正常计, 因此指标偏低 "
                    "(labels are the cases reported by the run's date: later reports count as negatives, so "
                    "these figures understate the model)."
                ),
            )
        )
    shown = alerts.head(SHOWN_ALERTS)[["rank", "account_id", "outlet_id", "score", "rules_hit", "reasons"]]
    blocks.append(
        TableBlock(
            shown,
            (
                Column("rank", "排名", "rank", "int"),
                Column("account_id", "账号", "account"),
                Column("outlet_id", "开户网点", "outlet"),
                Column("score", "综合风险分", "score", "float"),
                Column("rules_hit", "命中规则", "rules"),
                Column("reasons", "主要原因", "reasons (feature contributions)"),
            ),
            title_zh=f"今日预警 (前{SHOWN_ALERTS})",
            title_en=f"Today's alerts, first {SHOWN_ALERTS} of {len(alerts)} (risk/alerts.xlsx has all, masked)",
        )
    )
    names = ctx.engine.execute(ctx.engine.table(ctx.warehouse, "counties").select("county_id", "county_name"))
    county_names = dict(zip(names["county_id"], names["county_name"], strict=True))
    blocks.append(
        FigureBlock(
            _county_figure(summary.by_county, ctx.as_of, county_names),
            "各区县预警",
            f"Alerts per county, the {SHOWN_COUNTIES} with most",
            height=480,
        )
    )
    blocks.append(
        FigureBlock(
            _trend_figure(trend, county_names),
            "高风险账户趋势",
            f"Accounts scoring >= {HIGH_RISK:.1f}, every {REFERENCE_DAYS} days: the province and the "
            f"{TREND_COUNTIES} counties with most today",
        )
    )
    if summary.rising_outlets is not None and len(summary.rising_outlets):
        outlets = ctx.engine.execute(
            ctx.engine.table(ctx.warehouse, "outlets").select("outlet_id", "outlet_name")
        )
        rising = summary.rising_outlets.merge(outlets, on="outlet_id", how="left")
        rising = rising[
            ["outlet_id", "outlet_name", *[c for c in summary.rising_outlets.columns if c != "outlet_id"]]
        ]
        blocks.append(
            TableBlock(
                rising,
                tuple(Column(c, _ZH.get(c, c), c, _fmt(c, rising[c])) for c in rising.columns),
                title_zh="预警上升网点",
                title_en=f"Outlets whose alerts rose most since {ctx.as_of - timedelta(days=REFERENCE_DAYS)}",
            )
        )
    if summary.drift is not None:
        drift = summary.drift.head(10)
        blocks.append(
            TableBlock(
                drift,
                (
                    Column("name_zh", "特征", "feature"),
                    Column("psi", "PSI", "", "float"),
                    Column("status", "状态", "status"),
                    Column("reference_mean", "参照均值", "reference mean", "float"),
                    Column("current_mean", "当前均值", "current mean", "float"),
                ),
                title_zh="特征与分数漂移 (PSI)",
                title_en="Drift of features and score (PSI <0.1 stable, 0.1-0.25 watch, >0.25 drift)",
            )
        )
    blocks.append(
        Note(
            f"风险账户标记 {fmt_int(risky_customers)} 位客户 ({fmt_pct(risky_customers / max(len(flags), 1))} 有评分账户的客户), "
            "营销名单 (youshu targets build --exclude-risky) 默认剔除。预警原因是模型学到的关联, 不是证据。",
            "Flagged customers are left out of marketing lists. A reason is an association the model learned, "
            "not proof; the counterparties are where investigators look first.",
        )
    )
    return Section("risk", "风险账户", "Risky accounts", tuple(blocks))


_ZH = {
    "outlet_id": "网点",
    "outlet_name": "网点名称",
    "accounts": "评分账户",
    "alerts": "当前预警",
    "mean_score": "当前均分",
    "alerts_before": "参照预警",
    "mean_score_before": "参照均分",
    "alerts_change": "预警变化",
    "mean_score_change": "均分变化",
}


def _fmt(name: str, series: pd.Series) -> Format:
    if name.startswith("mean_score"):
        return "pct"  # probabilities of a few per mille: two decimals would show 0.00
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "text"


def high_risk_trend(scores: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Accounts scoring at least ``threshold`` (default :data:`HIGH_RISK`) per as-of date and county.

    Alerts are a fixed number a day, so their volume cannot trend; the count above a fixed score can.

    Returns
    -------
    pandas.DataFrame
        ``as_of_date, county_id, accounts, high_risk, high_risk_share``; ``county_id`` ``"全省"`` holds the
        province's total.
    """
    cut = HIGH_RISK if threshold is None else threshold
    x = scores.assign(high=scores["score"] >= cut, as_of_date=scores["as_of_date"].astype(str))
    by = x.groupby(["as_of_date", "county_id"], dropna=False).agg(
        accounts=("high", "size"), high_risk=("high", "sum")
    )
    total = x.groupby("as_of_date").agg(accounts=("high", "size"), high_risk=("high", "sum"))
    total["county_id"] = PROVINCE
    out = pd.concat([by.reset_index(), total.reset_index()], ignore_index=True)
    out["high_risk"] = out["high_risk"].astype("int64")
    out["high_risk_share"] = out["high_risk"] / out["accounts"]
    return out.sort_values(["as_of_date", "county_id"]).reset_index(drop=True)


def _trend_figure(trend: pd.DataFrame, names: dict[str, str]) -> go.Figure:
    last = trend["as_of_date"].max()
    today = trend[(trend["as_of_date"] == last) & (trend["county_id"] != PROVINCE)]
    top = today.sort_values(["high_risk", "county_id"], ascending=[False, True])["county_id"].head(
        TREND_COUNTIES
    )
    fig = go.Figure()
    for county in [PROVINCE, *top]:
        rows = trend[trend["county_id"] == county]
        label = "全省 province" if county == PROVINCE else f"{names.get(county, county)} {county}"
        fig.add_trace(go.Scatter(x=rows["as_of_date"], y=rows["high_risk"], mode="lines+markers", name=label))
    fig.update_layout(xaxis_title="日期 as-of date", yaxis_title="高风险账户 accounts")
    return fig


def _county_figure(by_county: pd.DataFrame, as_of: date, names: dict[str, str]) -> go.Figure:
    """Alerts of the day per county, the :data:`SHOWN_COUNTIES` with most, busiest on top."""
    day = by_county[by_county["as_of_date"].astype(str) == as_of.isoformat()]
    day = day.sort_values(["alerts", "county_id"], ascending=[False, True]).head(SHOWN_COUNTIES)[::-1]
    labels = [f"{names.get(c, c)} {c}" for c in day["county_id"]]
    fig = go.Figure(go.Bar(x=day["alerts"], y=labels, orientation="h", name="预警 alerts"))
    fig.update_layout(xaxis_title="预警数 alerts", yaxis_title="", showlegend=False)
    return fig
