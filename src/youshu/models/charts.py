"""Plotly charts of evaluation reports (lift, cumulative gain, reliability, precision-recall) for the HTML report.

Each builder takes one or more :class:`~youshu.models.evaluation.EvaluationReport` (one trace per model, so a
model and its baselines share a chart) and returns a bare ``plotly.graph_objects.Figure``; the report applies
fonts and colours (``youshu.reports.html.FigureBlock``). Axis titles are zh with the English term.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

if TYPE_CHECKING:
    from youshu.models.evaluation import EvaluationReport

__all__ = ["forecast_decile_chart", "gain_chart", "lift_chart", "pr_curve_chart", "reliability_chart"]

RANDOM_STYLE = {"dash": "dot", "color": "#8c8c8c", "width": 1}


def _many(reports: EvaluationReport | Sequence[EvaluationReport]) -> list[EvaluationReport]:
    from youshu.models.evaluation import EvaluationReport

    return [reports] if isinstance(reports, EvaluationReport) else list(reports)


def lift_chart(reports: EvaluationReport | Sequence[EvaluationReport]) -> go.Figure:
    """Lift by score decile (bars per model; 1 = the random rate)."""
    fig = go.Figure()
    for r in _many(reports):
        fig.add_trace(
            go.Bar(
                x=[f"D{b}" for b in r.lift["bin"]],
                y=r.lift["lift"].round(3).tolist(),
                name=r.name,
                hovertemplate="%{x}: lift %{y:.2f}<extra>" + r.name + "</extra>",
            )
        )
    fig.add_hline(y=1.0, line=RANDOM_STYLE)
    fig.update_layout(
        barmode="group",
        xaxis_title="评分十分位 score decile (D1 = highest)",
        yaxis_title="提升度 lift",
    )
    return fig


def gain_chart(reports: EvaluationReport | Sequence[EvaluationReport]) -> go.Figure:
    """Cumulative gain: share of all positives found against share of rows contacted, with the random line."""
    fig = go.Figure()
    for r in _many(reports):
        contacted = [0.0, *(r.lift["cum_rows"] / r.rows).tolist()]
        found = [0.0, *r.lift["gain"].tolist()]
        fig.add_trace(go.Scatter(x=contacted, y=found, mode="lines+markers", name=r.name))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="随机 random", line=RANDOM_STYLE))
    fig.update_layout(
        xaxis={"title": "触达客户占比 share contacted", "tickformat": ".0%"},
        yaxis={"title": "覆盖正例占比 share of positives found", "tickformat": ".0%"},
    )
    return fig


def reliability_chart(reports: EvaluationReport | Sequence[EvaluationReport]) -> go.Figure:
    """Observed rate against mean predicted probability per bin, with the diagonal of perfect calibration.

    Reports without calibration (scores that are not probabilities) are left out.
    """
    fig = go.Figure()
    top = 0.0
    for r in _many(reports):
        if r.reliability is None:
            continue
        curve = r.reliability
        top = max(top, float(curve["mean_predicted"].max()), float(curve["observed_rate"].max()))
        brier = f" (Brier {r.brier:.4f})" if r.brier is not None else ""
        fig.add_trace(
            go.Scatter(
                x=curve["mean_predicted"].tolist(),
                y=curve["observed_rate"].tolist(),
                mode="lines+markers",
                name=r.name + brier,
                customdata=curve["rows"].tolist(),
                hovertemplate="predicted %{x:.3f}, observed %{y:.3f}, rows %{customdata:,}",
            )
        )
    edge = min(1.0, top * 1.05) or 1.0
    fig.add_trace(
        go.Scatter(x=[0, edge], y=[0, edge], mode="lines", name="完美校准 perfect", line=RANDOM_STYLE)
    )
    fig.update_layout(
        xaxis_title="预测概率 mean predicted probability",
        yaxis_title="实际发生率 observed rate",
    )
    return fig


def pr_curve_chart(reports: EvaluationReport | Sequence[EvaluationReport]) -> go.Figure:
    """Precision against recall per model, with each base rate (a random ranking's precision) dotted."""
    fig = go.Figure()
    for r in _many(reports):
        fig.add_trace(
            go.Scatter(
                x=r.pr_curve["recall"].tolist(),
                y=r.pr_curve["precision"].tolist(),
                mode="lines",
                name=f"{r.name} (PR-AUC {r.pr_auc:.3f})",
            )
        )
    many = _many(reports)
    if many:
        fig.add_hline(y=many[0].base_rate, line=RANDOM_STYLE)
    fig.update_layout(
        xaxis={"title": "召回率 recall", "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": "精确率 precision", "tickformat": ".0%", "range": [0, 1]},
    )
    return fig


def forecast_decile_chart(predicted: Sequence[float], realised: Sequence[float], *, name: str) -> go.Figure:
    """Mean forecast and mean realised value (yuan) per decile of the forecast, for a regressor's check rows.

    Parameters
    ----------
    predicted, realised : sequence of float
        Forecast and realised amounts in fen, aligned (e.g. AUM forecast and the AUM observed later).
    name : str
        Name of the model, shown in the legend.
    """
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"predicted": np.asarray(predicted, float), "realised": np.asarray(realised, float)})
    order = frame["predicted"].rank(method="first", ascending=False)
    frame["decile"] = np.ceil(order / len(frame) * 10).clip(1, 10).astype(int)
    means = frame.groupby("decile")[["predicted", "realised"]].mean() / 100.0
    x = [f"D{d}" for d in means.index]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=means["predicted"].round(0).tolist(), name=f"{name} 预测 forecast"))
    fig.add_trace(go.Bar(x=x, y=means["realised"].round(0).tolist(), name="实际 realised"))
    fig.update_layout(
        barmode="group",
        xaxis_title="预测十分位 forecast decile (D1 = highest)",
        yaxis_title="平均金额（元）mean amount (yuan)",
    )
    return fig
