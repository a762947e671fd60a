"""The report sections of a province summary: KPI cards, charts and tables built from a ProvinceSummary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from youshu.pipeline.summary import REST_ID, DataQuality, ProvinceSummary
from youshu.reports.html import (
    Column,
    FigureBlock,
    Kpi,
    KpiGrid,
    Note,
    Section,
    TableBlock,
    fmt_int,
    fmt_pct,
    fmt_wan,
)

__all__ = ["summary_sections"]


def _bar(x: Sequence[Any], y: Sequence[Any], name: str = "", **kwargs: Any) -> go.Bar:
    return go.Bar(x=list(x), y=list(y), name=name, **kwargs)


def _zh_en(frame: pd.DataFrame, key: str = "key") -> list[str]:
    return [f"{zh}<br>{en}" for zh, en in zip(frame["name_zh"], frame[key], strict=True)]


def summary_sections(s: ProvinceSummary) -> list[Section]:
    """The report sections of a province summary (aggregates only: no customer appears in them)."""
    return [
        _overview(s),
        _aum_section(s),
        _customers_section(s),
        _flows_section(s),
        _merchants_section(s),
        _campaigns_section(s),
        _loans_section(s),
        _kpi_section(s),
        _quality_section(s.data_quality),
    ]


def _overview(s: ProvinceSummary) -> Section:
    c = s.counts
    kpis = [
        Kpi("客户数", "customers onboarded", fmt_int(c.customers), "户"),
        Kpi("有效账户", "open accounts", fmt_int(c.open_accounts), "户"),
        Kpi(
            "资产规模 AUM",
            "deposits + holdings",
            fmt_wan(s.aum.total_fen),
            "万元",
            f"月末 {s.aum.month_end or '—'}",
        ),
        Kpi("区县 / 网点", "counties / outlets", f"{c.counties:,} / {c.outlets:,}"),
        Kpi(
            "收单商户",
            "acquired merchants",
            fmt_int(c.merchants_acquired),
            "户",
            f"潜在商户 prospects {c.merchant_prospects:,}",
        ),
        Kpi(
            "近30天扫码笔数",
            "QR payments, last 30 days",
            fmt_int(s.merchants.qr_30d_payments),
            "笔",
            f"金额 {fmt_wan(s.merchants.qr_30d_amount_fen)} 万元",
        ),
        Kpi("贷款余额", "loans outstanding", fmt_wan(s.loans.outstanding_fen), "万元"),
        Kpi(
            "逾期+不良占比",
            "overdue + defaulted share",
            fmt_pct(_sum_share(s.loans.overdue_share, s.loans.defaulted_share)),
        ),
    ]
    note = Note(
        f"所有指标仅使用截至 {s.as_of} 的数据；金额单位为万元。",
        f"Every figure uses data up to {s.as_of} only; money in 万元 (10,000 yuan).",
    )
    return Section("overview", "省份概览", "Province overview", [KpiGrid(kpis), note])


def _sum_share(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)


def _aum_section(s: ProvinceSummary) -> Section:
    a = s.aum
    kpis = KpiGrid(
        [
            Kpi("资产规模", "AUM", fmt_wan(a.total_fen), "万元", f"月末 month end {a.month_end or '—'}"),
            Kpi("存款", "deposits", fmt_wan(a.deposits_fen), "万元"),
            Kpi("理财等持仓", "product holdings", fmt_wan(a.holdings_fen), "万元"),
        ]
    )
    trend = _deposits_holdings_chart([d.isoformat() for d in a.trend["month_end_date"]], a.trend)
    counties = a.by_county
    # The chart compares the top counties with each other; the "rest" row (all others summed) would dwarf
    # them, so it stays in the table only.
    top = counties[counties["county_id"] != REST_ID]
    by_county = _deposits_holdings_chart(list(top["county_name"]), top)
    table = TableBlock(
        counties,
        [
            Column("county_name", "区县", "county"),
            Column("city_name", "地市", "city"),
            Column("customers", "客户数", "customers", "int"),
            Column("deposits_fen", "存款(万元)", "deposits", "wan"),
            Column("holdings_fen", "持仓(万元)", "holdings", "wan"),
            Column("aum_fen", "AUM(万元)", "AUM", "wan"),
            Column("aum_share", "占比", "share", "pct"),
        ],
        "各区县资产规模",
        "AUM by county (top 10 and the rest)",
    )
    return Section(
        "aum",
        "资产规模",
        "Assets under management",
        [
            kpis,
            FigureBlock(trend, "近12个月资产规模", "AUM, last 12 month ends"),
            FigureBlock(by_county, "AUM前十区县", "top counties by AUM"),
            table,
        ],
    )


def _deposits_holdings_chart(labels: list[str], frame: pd.DataFrame) -> go.Figure:
    """Deposits and holdings (``deposits_fen``, ``holdings_fen`` of ``frame``) stacked per label, in 万元."""
    fig = go.Figure(
        [
            _bar(labels, frame["deposits_fen"] / 1e6, "存款 deposits"),
            _bar(labels, frame["holdings_fen"] / 1e6, "持仓 holdings"),
        ]
    )
    fig.update_layout(barmode="stack", yaxis_title="万元", xaxis_type="category")
    return fig


def _customers_section(s: ProvinceSummary) -> Section:
    mix = s.customers
    age = go.Figure([_bar(mix.by_age_band["name_zh"], mix.by_age_band["customers"], "客户 customers")])
    age.update_layout(xaxis_type="category", yaxis_title="户")
    gender = go.Figure(
        [
            go.Pie(
                labels=list(mix.by_gender["name_zh"]),
                values=list(mix.by_gender["customers"]),
                sort=False,
                hole=0.45,
            )
        ]
    )
    occ = mix.by_occupation
    occupation = go.Figure([_bar(_zh_en(occ), occ["customers"], "客户 customers")])
    occupation.update_layout(xaxis_type="category", yaxis_title="户")
    return Section(
        "customers",
        "客户结构",
        "Customers",
        [
            KpiGrid([Kpi("客户数", "customers onboarded", fmt_int(s.counts.customers), "户")]),
            FigureBlock(age, "年龄分布", "by age band (age on the as-of date)"),
            FigureBlock(gender, "性别", "by gender", height=300),
            FigureBlock(occupation, "职业", "by occupation"),
        ],
    )


def _flow_columns() -> list[Column]:
    return [
        Column("name_zh", "类别", "category"),
        Column("key", "代码", "code"),
        Column("txn_count", "笔数", "transactions", "int"),
        Column("in_fen", "流入(万元)", "in", "wan"),
        Column("out_fen", "流出(万元)", "out", "wan"),
        Column("amount_fen", "合计(万元)", "total", "wan"),
    ]


def _flows_section(s: ProvinceSummary) -> Section:
    f = s.flows
    cat = f.by_category
    fig = go.Figure(
        [
            _bar(cat["name_zh"], cat["in_fen"] / 1e6, "流入 in"),
            _bar(cat["name_zh"], cat["out_fen"] / 1e6, "流出 out"),
        ]
    )
    fig.update_layout(barmode="group", yaxis_title="万元", xaxis_type="category")
    chan = f.by_channel
    return Section(
        "transactions",
        "资金流向",
        "Money flows",
        [
            KpiGrid(
                [
                    Kpi(
                        "交易笔数",
                        "transactions",
                        fmt_int(f.txn_count),
                        "笔",
                        f"{f.window_start} – {f.window_end}",
                    ),
                    Kpi("交易金额", "amount", fmt_wan(f.amount_fen), "万元"),
                ]
            ),
            FigureBlock(fig, "近90天按对手方类别", "last 90 days by counterparty category"),
            TableBlock(cat, _flow_columns(), "按对手方类别", "by counterparty category"),
            TableBlock(
                chan,
                [c if c.key != "name_zh" else Column("name_zh", "渠道", "channel") for c in _flow_columns()],
                "按渠道",
                "by channel",
            ),
        ],
    )


def _merchants_section(s: ProvinceSummary) -> Section:
    m = s.merchants
    cats = m.by_category
    by_cat = go.Figure(
        [
            _bar(cats["name_zh"], cats["acquired"], "收单商户 acquired"),
            _bar(cats["name_zh"], cats["prospects"], "潜在商户 prospects"),
        ]
    )
    by_cat.update_layout(barmode="stack", yaxis_title="户", xaxis_type="category")
    weekly = m.qr_weekly
    weeks = [d.isoformat() for d in weekly["week_end"]]
    qr = go.Figure(
        [
            _bar(weeks, weekly["amount_fen"] / 1e6, "金额(万元) amount"),
            go.Scatter(
                x=weeks, y=list(weekly["payments"]), name="笔数 payments", yaxis="y2", mode="lines+markers"
            ),
        ]
    )
    qr.update_layout(
        xaxis_type="category",
        yaxis_title="万元",
        yaxis2={"title": "笔", "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )
    table = TableBlock(
        cats,
        [
            Column("name_zh", "商户类别", "category"),
            Column("category", "代码", "code"),
            Column("acquired", "收单商户", "acquired", "int"),
            Column("prospects", "潜在商户", "prospects", "int"),
            Column("qr_payments_90d", "近90天扫码笔数", "QR payments, 90 days", "int"),
            Column("qr_amount_fen_90d", "近90天扫码金额(万元)", "QR amount, 90 days", "wan"),
        ],
        "按类别",
        "by category",
    )
    return Section(
        "merchants",
        "商户与收单",
        "Merchants and QR payments",
        [
            KpiGrid(
                [
                    Kpi("收单商户", "acquired merchants", fmt_int(s.counts.merchants_acquired), "户"),
                    Kpi("潜在商户", "prospects", fmt_int(s.counts.merchant_prospects), "户"),
                    Kpi("近30天扫码笔数", "QR payments, last 30 days", fmt_int(m.qr_30d_payments), "笔"),
                    Kpi("近30天扫码金额", "QR amount, last 30 days", fmt_wan(m.qr_30d_amount_fen), "万元"),
                    Kpi(
                        "近30天活跃商户",
                        "active merchants, 30 days",
                        fmt_int(m.qr_30d_active_merchants),
                        "户",
                    ),
                ]
            ),
            FigureBlock(by_cat, "商户类别", "merchants by category"),
            FigureBlock(qr, "近12周扫码支付", "QR payments per week, last 12 weeks (week ending)"),
            table,
        ],
    )


def _campaigns_section(s: ProvinceSummary) -> Section:
    c = s.campaigns
    table = TableBlock(
        c.by_campaign,
        [
            Column("campaign_name", "活动", "campaign"),
            Column("campaign_type_zh", "类型", "type"),
            Column("start_date", "开始", "start", "date"),
            Column("end_date", "结束", "end", "date"),
            Column("treatment", "实验组", "treatment", "int"),
            Column("control", "对照组", "control", "int"),
            Column("coupons_issued", "发券", "coupons issued", "int"),
            Column("coupons_redeemed", "核销", "redeemed", "int"),
            Column("redemption_rate", "核销率", "redemption rate", "pct"),
            Column("referral_rate_treatment", "实验组转化率", "referral rate, treatment", "pct"),
            Column("referral_rate_control", "对照组转化率", "referral rate, control", "pct"),
        ],
        "截至当日已开始的活动",
        "campaigns started by the as-of date",
    )
    note = Note(
        "以下为各组原始比率，仅作描述，不代表活动的因果效果。",
        "Raw rates per group, descriptive only: differences between groups are not causal estimates.",
        kind="warning",
    )
    return Section(
        "campaigns",
        "营销活动",
        "Campaigns",
        [
            KpiGrid(
                [
                    Kpi(
                        "活动客群",
                        "campaign members",
                        fmt_int(c.members),
                        "人",
                        f"实验组 {c.treatment:,} / 对照组 {c.control:,}",
                    ),
                    Kpi(
                        "发券 / 核销",
                        "coupons issued / redeemed",
                        f"{c.coupons_issued:,} / {c.coupons_redeemed:,}",
                    ),
                    Kpi("核销率", "redemption rate", fmt_pct(c.redemption_rate)),
                    Kpi("转化率 实验组", "referral rate, treatment", fmt_pct(c.referral_rate_treatment)),
                    Kpi("转化率 对照组", "referral rate, control", fmt_pct(c.referral_rate_control)),
                ]
            ),
            note,
            table,
        ],
    )


def _loans_section(s: ProvinceSummary) -> Section:
    ln = s.loans
    table = TableBlock(
        ln.by_product,
        [
            Column("name_zh", "贷款产品", "product"),
            Column("product", "代码", "code"),
            Column("loans", "在贷笔数", "loans", "int"),
            Column("outstanding_fen", "余额(万元)", "outstanding", "wan"),
            Column("overdue_loans", "逾期笔数", "overdue", "int"),
            Column("overdue_fen", "逾期余额(万元)", "overdue", "wan"),
            Column("defaulted_loans", "不良笔数", "defaulted", "int"),
            Column("defaulted_fen", "不良余额(万元)", "defaulted", "wan"),
        ],
        "按产品",
        "by product",
    )
    note = Note(
        "逾期：截至当日有到期未足额还款的期次；不良：最早未还期次逾期超过90天。余额按未还计划比例折算本金。",
        "Overdue: an instalment due before the as-of date unpaid by it; defaulted: the oldest such instalment "
        "more than 90 days past due. Outstanding = principal × unpaid share of the schedule.",
    )
    return Section(
        "loans",
        "贷款质量",
        "Loans",
        [
            KpiGrid(
                [
                    Kpi("在贷笔数", "loans outstanding", fmt_int(ln.loans), "笔"),
                    Kpi("贷款余额", "outstanding principal", fmt_wan(ln.outstanding_fen), "万元"),
                    Kpi("逾期占比", "overdue share (balance)", fmt_pct(ln.overdue_share, 2)),
                    Kpi("不良占比", "defaulted share (balance)", fmt_pct(ln.defaulted_share, 2)),
                ]
            ),
            table,
            note,
        ],
    )


def _kpi_section(s: ProvinceSummary) -> Section:
    k = s.kpis.copy()
    money = k["metric"].astype(str).str.endswith("_fen") if not k.empty else pd.Series(dtype=bool)
    k["target_text"] = _metric_texts(k["target_value"], money)
    k["actual_text"] = _metric_texts(k["actual_value"], money)
    k["period"] = [f"{a} – {b}" for a, b in zip(k["period_start"], k["period_end"], strict=True)]
    table = TableBlock(
        k,
        [
            Column("period", "考核期", "period"),
            Column("name_zh", "指标", "metric"),
            Column("outlets", "网点数", "outlets", "int"),
            Column("target_text", "目标", "target"),
            Column("actual_text", "完成", "achieved to date"),
            Column("achievement", "完成率", "achievement", "pct"),
            Column("period_elapsed", "时间进度", "period elapsed", "pct"),
        ],
        "包含当日的考核期",
        "periods containing the as-of date (targets summed over outlets)",
    )
    blocks: list[Any] = [table]
    if k.empty:
        blocks = [Note("当日不在任何考核期内。", "No KPI period contains the as-of date.")]
    return Section("kpis", "考核进度", "KPI targets", blocks)


def _metric_texts(values: pd.Series, money: pd.Series) -> list[str]:
    """KPI values as text: 万元 where the metric is money (fen), whole numbers otherwise."""
    return [fmt_wan(v) if m else fmt_int(v) for v, m in zip(values, money, strict=True)]


def _quality_section(dq: DataQuality | None) -> Section:
    if dq is None:
        return Section("data-quality", "数据质量", "Data quality", [Note("未校验。", "Not validated.")])
    status = Note(
        f"校验{'通过' if dq.ok else '未通过'}，发现 {dq.problem_count} 个问题。",
        f"Validation {'passed' if dq.ok else 'failed'} with {dq.problem_count} problem(s).",
        kind="info" if dq.ok and dq.problem_count == 0 else "warning",
    )
    blocks: list[Any] = [status]
    if dq.messages:
        frame = pd.DataFrame({"message": list(dq.messages)})
        blocks.append(
            TableBlock(frame, [Column("message", "问题", "problem")], "问题清单", "problems (first 20)")
        )
    blocks.append(
        TableBlock(
            dq.row_counts,
            [
                Column("table", "表", "table"),
                Column("name_zh", "中文名", "name"),
                Column("rows", "行数", "rows (all dates)", "int"),
            ],
            "各表行数",
            "rows per canonical table",
        )
    )
    return Section("data-quality", "数据质量", "Data quality", blocks)
