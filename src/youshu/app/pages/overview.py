"""概览 overview: KPIs of the user's outlets and the outlets' KPI progress ranking."""

from __future__ import annotations

import plotly.graph_objects as go
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from youshu.app.roles import Permission
from youshu.app.web import Context, context, figure_json

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview(ctx: Context = Depends(context)) -> HTMLResponse:
    """Headline counts for the outlets in scope, KPI ranking and the province AUM trend."""
    data = ctx.data
    run = data.run
    rows = ctx.principal.can(Permission.CUSTOMER_ROWS)
    # customer counts and AUM are aggregates: viewers see them too
    customers = (
        data.aggregate("customer_ivl", ["outlet_id"], ("aum_fen",)) if run.has("customer_ivl") else None
    )
    circles = data.table("circle_members") if run.has("circle_members") else None
    kpis = {
        "customers": int(customers["rows"].sum()) if customers is not None else None,
        "aum_fen": int(customers["aum_fen"].sum()) if customers is not None else None,
        "merchants": circles["merchant_id"].nunique() if circles is not None else None,
        "targets": len(data.table("wealth_targets")) if rows and run.has("wealth_targets") else None,
        "risk_alerts": len(data.table("risk_alerts")) if rows and run.has("risk_alerts") else None,
        "merchant_alerts": len(data.table("merchant_alerts")) if run.has("merchant_alerts") else None,
    }
    ranking = []
    if run.has("kpi_outlets"):
        ranking = (
            data.table("kpi_outlets").sort_values(["score", "outlet_id"], ascending=[False, True]).head(20)
        )
        ranking = ranking.to_dict("records")
    aum_chart = ctx.memo("overview.aum", lambda: figure_json(_aum_figure(ctx)))
    return ctx.render(
        "overview.html", page="overview", title="概览", kpis=kpis, ranking=ranking, aum_chart=aum_chart
    )


def _aum_figure(ctx: Context) -> go.Figure:
    """Deposits and holdings per month end (province)."""
    fig = go.Figure()
    if ctx.data.run.has("summary_aum_trend"):
        trend = ctx.data.table("summary_aum_trend")
        for column, label in (("deposits_fen", "存款 deposits"), ("holdings_fen", "持仓 holdings")):
            fig.add_bar(x=trend["month_end_date"].astype(str), y=trend[column] / 1e6, name=label)
        fig.update_layout(barmode="stack", yaxis_title="万元", legend={"orientation": "h"})
    return fig
