"""风险监测 risk: the risk step's alerts, trends, distributions, drift and validation for the outlets in scope."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from youshu.app.access import ScopedData
from youshu.app.roles import Permission
from youshu.app.web import Context, context, figure_json

router = APIRouter(include_in_schema=False)

#: The province row of ``risk_high_trend`` (the risk step's ``PROVINCE``).
PROVINCE = "全省"
#: Counties drawn in the high-risk trend besides the province and the user's own counties.
TREND_COUNTIES = 8
#: Outlets drawn in the score distribution chart (highest p99 first).
SHOWN_OUTLETS = 30
#: What replaces an internal account id outside the user's scope in the counterparties text.
HIDDEN_ACCOUNT = "范围外行内账户"
#: Internal account ids (``A`` + digits) in the counterparties text; external ones start with other letters.
INTERNAL_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])A\d+(?![0-9A-Za-z])")
#: Drift status (as the risk step writes it) -> badge class.
DRIFT_BADGES = {"stable": "", "watch": "warn", "drift": "bad"}


@router.get("/risk", response_class=HTMLResponse)
def risk(ctx: Context = Depends(context)) -> HTMLResponse:
    """KPIs, trends, per-outlet score distribution, rising outlets, drift and (with customer rows) the alerts."""
    data = ctx.data
    run = data.run
    outlets = data.table("outlets")[["outlet_id", "outlet_name", "county_id"]]
    names = dict(zip(outlets["outlet_id"], outlets["outlet_name"], strict=True))
    counties = _county_names(data)

    by_outlet = data.table("risk_by_outlet") if run.has("risk_by_outlet") else None
    today = _latest(by_outlet) if by_outlet is not None else None
    validation = data.table("risk_validation").to_dict("records") if run.has("risk_validation") else []
    high = data.table("risk_high_trend") if run.has("risk_high_trend") else None
    kpis = {
        "alerts": int(today["alerts"].sum()) if today is not None else None,
        "accounts": int(today["accounts"].sum()) if today is not None else None,
        "high_risk": _province_high_risk(high),
        "pr_auc": validation[0]["pr_auc"] if validation else None,
        "scorer": validation[0]["scorer"] if validation else "",
    }
    charts = ctx.memo(
        "risk.charts",
        lambda: {
            "trend": figure_json(_trend_figure(data.table("risk_trend"))) if run.has("risk_trend") else None,
            "high": figure_json(
                _high_figure(high, counties, set(outlets["county_id"]), ctx.principal.outlets)
            )
            if high is not None
            else None,
            "outlets": figure_json(_outlets_figure(today, names))
            if today is not None and len(today)
            else None,
        },
    )
    outlet_rows = (
        today.sort_values(["alerts", "mean_score", "outlet_id"], ascending=[False, False, True])
        .head(50)
        .assign(outlet_name=lambda f: f["outlet_id"].map(names))
        .to_dict("records")
        if today is not None
        else []
    )
    rising = (
        data.table("risk_rising_outlets")
        .assign(outlet_name=lambda f: f["outlet_id"].map(names))
        .to_dict("records")
        if run.has("risk_rising_outlets")
        else None
    )
    drift = (
        data.table("risk_drift").sort_values(["psi", "feature"], ascending=[False, True]).to_dict("records")
        if run.has("risk_drift")
        else None
    )
    for row in drift or []:
        row["badge"] = DRIFT_BADGES.get(str(row["status"]).split(" ", 1)[0], "")
    alerts = None
    if ctx.principal.can(Permission.CUSTOMER_ROWS) and run.has("risk_alerts"):
        alerts = _alert_rows(data, names)
    return ctx.render(
        "risk.html",
        page="risk",
        title="风险监测",
        kpis=kpis,
        as_of_day=str(today["as_of_date"].iloc[0]) if today is not None and len(today) else run.as_of,
        validation=validation,
        charts=charts,
        outlet_rows=outlet_rows,
        rising=rising,
        drift=drift,
        alerts=alerts,
    )


# -- tables -------------------------------------------------------------------------------------------------------
def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the latest ``as_of_date`` (the run's day)."""
    if frame.empty:
        return frame
    day = frame["as_of_date"].astype(str)
    return frame[day == day.max()]


def _county_names(data: ScopedData) -> dict[str, str]:
    counties = data.table("counties")
    return dict(zip(counties["county_id"], counties["county_name"], strict=True))


def _province_high_risk(high: pd.DataFrame | None) -> int | None:
    if high is None:
        return None
    province = _latest(high[high["county_id"] == PROVINCE])
    return int(province["high_risk"].iloc[0]) if len(province) else None


def _alert_rows(data: ScopedData, names: dict[str, str]) -> list[dict[str, Any]]:
    """Today's alerts in scope (masked holder names), counterparties outside the scope hidden."""
    alerts = _latest(data.table("risk_alerts")).sort_values(["rank", "account_id"])
    alerts = alerts.assign(outlet_name=alerts["outlet_id"].map(names))
    if data.principal.outlets is not None:
        visible = set(data.table("accounts")["account_id"])
        alerts = alerts.assign(counterparties=[hide_accounts(t, visible) for t in alerts["counterparties"]])
    columns = [
        "rank",
        "account_id",
        "customer_id",
        "name",
        "outlet_id",
        "outlet_name",
        "score",
        "model_score",
    ]
    columns += ["rules_hit", "reasons", "counterparties"]
    return alerts[[c for c in columns if c in alerts.columns]].to_dict("records")


def hide_accounts(text: Any, visible: set[str]) -> str:
    """``text`` with every internal account id (``A…``) not in ``visible`` replaced by 「范围外行内账户」;
    external ids (``EXT…`` and other prefixes) stay."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    return INTERNAL_ACCOUNT.sub(lambda m: m.group(0) if m.group(0) in visible else HIDDEN_ACCOUNT, str(text))


# -- charts -------------------------------------------------------------------------------------------------------
def _trend_figure(trend: pd.DataFrame) -> go.Figure:
    trend = trend.sort_values("as_of_date")
    days = trend["as_of_date"].astype(str)
    fig = go.Figure()
    fig.add_bar(x=days, y=trend["alerts"], name="预警 alerts")
    fig.add_scatter(
        x=days, y=trend["mean_score"], name="平均风险分 mean score", yaxis="y2", mode="lines+markers"
    )
    fig.update_layout(
        xaxis={"type": "category"},
        yaxis={"title": {"text": "预警数 alerts"}},
        yaxis2={
            "title": {"text": "平均分 mean score"},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".3%",
        },
        legend={"orientation": "h"},
    )
    return fig


def _high_figure(
    high: pd.DataFrame, counties: dict[str, str], own: set[str], scope: frozenset[str] | None
) -> go.Figure:
    """High-risk accounts over time: the province, the counties with most today (among those that ever had
    any) and, for a scoped user, their own counties."""
    day = high["as_of_date"].astype(str)
    ever = set(high.loc[high["high_risk"] > 0, "county_id"])
    today = high[(day == day.max()) & (high["county_id"] != PROVINCE) & high["county_id"].isin(ever)]
    top = today.sort_values(["high_risk", "county_id"], ascending=[False, True])["county_id"].head(
        TREND_COUNTIES
    )
    shown = [PROVINCE, *(sorted(own) if scope is not None else []), *top]
    fig = go.Figure()
    for county in dict.fromkeys(shown):
        rows = high[high["county_id"] == county].sort_values("as_of_date")
        label = "全省 province" if county == PROVINCE else f"{counties.get(county, county)} {county}"
        fig.add_scatter(
            x=rows["as_of_date"].astype(str),
            y=rows["high_risk"],
            mode="lines+markers",
            name=label,
            yaxis="y2" if county == PROVINCE else "y",
        )
    fig.update_layout(
        xaxis={"type": "category"},
        yaxis={"title": {"text": "区县高风险账户 county"}},
        yaxis2={"title": {"text": "全省 province"}, "overlaying": "y", "side": "right"},
        legend={"orientation": "h"},
    )
    return fig


def _outlets_figure(today: pd.DataFrame, names: dict[str, str]) -> go.Figure:
    """p50 / p90 / p99 of the account scores of each outlet in scope (the highest p99 first)."""
    shown = today.sort_values(["p99", "outlet_id"], ascending=[False, True]).head(SHOWN_OUTLETS)
    labels = [f"{names.get(o, o)} {o}" for o in shown["outlet_id"]]
    fig = go.Figure()
    for column, label in (("p50", "中位数 p50"), ("p90", "p90"), ("p99", "p99")):
        fig.add_bar(x=labels, y=shown[column], name=label)
    fig.add_scatter(
        x=labels, y=shown["mean_score"], name="平均 mean", mode="markers", marker={"symbol": "diamond"}
    )
    fig.update_layout(
        barmode="group",
        yaxis={"title": {"text": "风险分 score"}, "type": "log"},
        xaxis={"tickangle": -45},
        legend={"orientation": "h", "y": 1.1},
    )
    return fig
