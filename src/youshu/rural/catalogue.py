"""The specialty catalogue (特产名录): per county and product, location quotient, growth, seasonality, competitiveness.

Observed tables only (never the generator's planted folder). For every county c and product i, as of a date:

- **activity sources** over the ``window_days`` (365) days up to the as-of date: amounts of transactions with a
  ``counterparty_industry`` (the account owner's county), merchants and prospect POIs by ``specialty_industry``
  (a snapshot: every shop signed by the as-of date, and every prospect), principal of loans by
  ``purpose_industry`` issued by the as-of date and not matured before the window (the borrower's county);
- **composite activity** ``a(c, i) = sum_s w_s * x_s(c, i) / X_s`` with ``X_s`` the province total of source s
  and ``w_s`` the source weights of definitions/rural/competitiveness.yml;
- **location quotient** ``LQ = (a(c, i) / a(c, .)) / (a(., i) / a(., .))``: the product's share of the county's
  activity over its share of the province's;
- **growth** ``(T_recent - T_prior) / T_prior`` of transaction amounts, last ``growth_days`` (180) days against
  the 180 before (null without prior activity);
- **seasonality** the peak calendar month's share of the window's transaction amounts (1/12 flat, 1 a single
  month) and that month;
- **credit quality** of participants: share of instalments of the county-product's loans due in the window and
  on or before the as-of date that were paid within 30 days of the due date, shrunk towards the province rate
  p0: ``(on_time + k * p0) / (due + k)`` with k = ``credit_prior_instalments`` (loan status is not used: it is
  stated as of the extract date, which may lie after the as-of date);
- **competitiveness index** ``sum_k w_k * z_k`` over components scale ``ln(1 + yuan of transactions and loan
  principal)``, growth (clipped to [-1, 3]), concentration ``ln LQ`` and credit quality, each z-scored over all
  rows where it is known (population standard deviation), clipped to [-z_clip, z_clip]; a missing component
  scores z = 0;
- ``rank_in_county`` 1, 2, ... by the index (ties: product name).
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from youshu.engine import Tables, safe_divide
from youshu.features.common import as_of_date, days_before, end_of, start_of
from youshu.rural.config import CompetitivenessConfig, load_competitiveness
from youshu.schema.enums import INDUSTRY_ZH

__all__ = ["CATALOGUE_COLUMNS", "specialty_catalogue"]

#: Decimals kept of the index and its z-scores (engines differ in the last bits of a standard deviation).
ROUND_DIGITS = 6

#: Output columns, in order, with their Chinese names.
CATALOGUE_COLUMNS: dict[str, str] = {
    "county_id": "区县编号",
    "county_name": "区县名称",
    "industry": "特产(代码)",
    "industry_zh": "特产",
    "rank_in_county": "县内排名",
    "competitiveness_index": "竞争力指数",
    "location_quotient": "区位商",
    "county_share": "县内占比",
    "province_share": "全省占比",
    "txn_amount_fen": "涉农交易金额(分)",
    "txn_count": "涉农交易笔数",
    "participants": "参与客户数",
    "merchants": "特产商户数",
    "loan_count": "产业贷款笔数",
    "loan_principal_fen": "产业贷款本金(分)",
    "growth": "增长率",
    "seasonality_peak_share": "旺季月份占比",
    "peak_month": "旺季月份",
    "credit_quality": "主体信用(按期还款率)",
    "z_scale": "规模z值",
    "z_growth": "增长z值",
    "z_concentration": "集聚z值",
    "z_credit_quality": "信用z值",
}
_SUMS = (
    "txn_amount_fen",
    "txn_count",
    "participants",
    "recent_fen",
    "prior_fen",
    "merchants",
    "loan_count",
    "loan_principal_fen",
    "due",
    "paid_on_time",
)


def specialty_catalogue(t: Tables, as_of: date, config: CompetitivenessConfig | None = None) -> ir.Table:
    """One row per county and product with observed activity, ranked within the county.

    Parameters
    ----------
    t : Tables
        The warehouse's canonical tables on an engine (``youshu.engine.Tables``).
    as_of : date
        The as-of date (inclusive); nothing after it is read.
    config : CompetitivenessConfig, optional
        Weights and windows (default: definitions/rural/competitiveness.yml).

    Returns
    -------
    ibis.Table
        The columns of :data:`CATALOGUE_COLUMNS`; ``growth``, ``credit_quality`` and ``peak_month`` are null
        where there is nothing to measure.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(specialty_catalogue(Tables(eng, warehouse), date(2025, 9, 30)))
    """
    as_of = as_of_date(as_of)
    cfg = config or load_competitiveness()
    first = days_before(as_of, cfg.window_days)
    customers = t.customers.filter(t.customers.onboard_date <= as_of).select("customer_id", "county_id")
    owners = t.accounts.filter(t.accounts.open_date <= as_of).select("account_id", "customer_id")
    keys = ["county_id", "industry"]

    txn = t.transactions
    tagged = txn.filter(
        (txn.txn_at >= start_of(first)) & (txn.txn_at < end_of(as_of)) & txn.counterparty_industry.notnull()
    )
    recent_from = start_of(as_of - timedelta(days=cfg.growth_days - 1))
    prior_from = start_of(as_of - timedelta(days=2 * cfg.growth_days - 1))
    flows = (
        tagged.join(owners, "account_id")
        .join(customers, "customer_id")
        .select(
            "county_id",
            "customer_id",
            "txn_at",
            "amount_fen",
            industry=tagged.counterparty_industry,
        )
    )
    is_recent = flows.txn_at >= recent_from
    is_prior = (flows.txn_at >= prior_from) & ~is_recent
    txn_part = flows.group_by(keys).aggregate(
        txn_amount_fen=flows.amount_fen.sum(),
        txn_count=flows.count(),
        participants=flows.customer_id.nunique(),
        recent_fen=flows.amount_fen.sum(where=is_recent),
        prior_fen=flows.amount_fen.sum(where=is_prior),
    )

    m = t.merchants
    shops = m.filter(m.specialty_industry.notnull() & (m.onboard_date.isnull() | (m.onboard_date <= as_of)))
    shop_part = shops.group_by(["county_id", shops.specialty_industry.name("industry")]).aggregate(
        merchants=ibis._.count()
    )

    ln = t.loans
    loans = ln.filter(ln.purpose_industry.notnull() & (ln.issue_date <= as_of) & (ln.maturity_date >= first))
    loans = loans.join(customers, "customer_id").select(
        "loan_id", "county_id", "principal_fen", industry=loans.purpose_industry
    )
    loan_part = loans.group_by(keys).aggregate(
        loan_count=loans.count(), loan_principal_fen=loans.principal_fen.sum()
    )
    rp = t.loan_repayments
    due = rp.filter((rp.due_date >= first) & (rp.due_date <= as_of))
    on_time = (
        due.paid_date.notnull()
        & (due.paid_date <= as_of)
        & (due.paid_date <= due.due_date + ibis.interval(days=30))
    )
    instalments = due.select("loan_id", on_time=on_time.cast("int64")).join(loans, "loan_id")
    credit_part = instalments.group_by(keys).aggregate(
        due=instalments.count(), paid_on_time=instalments.on_time.sum()
    )

    parts = [txn_part, shop_part, loan_part, credit_part]
    stacked = ibis.union(*[_widen(p, keys) for p in parts])
    sums = stacked.group_by(keys).aggregate(**{c: stacked[c].sum() for c in _SUMS})
    scored = _indices(sums, cfg)
    return _with_season(t, scored, flows, keys)


def _widen(part: ir.Table, keys: list[str]) -> ir.Table:
    """``part`` with every summed column (0 where it has none), so the parts stack by union."""
    columns = {
        c: (part[c].cast("float64") if c in part.columns else ibis.literal(0.0, type="float64"))
        for c in _SUMS
    }
    return part.select(*keys, **columns)


def _zscore(x: ir.FloatingValue, clip: float) -> ir.FloatingValue:
    """(x - mean) / population std over the rows where x is known, clipped to [-clip, clip]; 0 where x is null."""
    everything = ibis.window()
    z = (x - x.mean().over(everything)) / x.std(how="pop").over(everything).nullif(0)
    return z.clip(lower=-clip, upper=clip).fill_null(0.0)


def _indices(sums: ir.Table, cfg: CompetitivenessConfig) -> ir.Table:
    everything = ibis.window()
    w = cfg.source_weights
    s = sums
    a = (
        w["transactions"]
        * safe_divide(s.txn_amount_fen, s.txn_amount_fen.sum().over(everything)).fill_null(0)
        + w["merchants"] * safe_divide(s.merchants, s.merchants.sum().over(everything)).fill_null(0)
        + w["loans"]
        * safe_divide(s.loan_principal_fen, s.loan_principal_fen.sum().over(everything)).fill_null(0)
    )
    s = s.mutate(activity=a)
    county_share = safe_divide(s.activity, s.activity.sum().over(ibis.window(group_by="county_id")))
    province_share = safe_divide(
        s.activity.sum().over(ibis.window(group_by="industry")), s.activity.sum().over(everything)
    )
    s = s.mutate(county_share=county_share, province_share=province_share)
    # Credit quality shrunk towards the province's on-time rate p0 by k pseudo-instalments: a county-product
    # with three instalments, one late, should not swing the index (null when there are no instalments).
    k = float(cfg.credit_prior_instalments)
    p0 = safe_divide(s.paid_on_time.sum().over(everything), s.due.sum().over(everything)).fill_null(1.0)
    s = s.mutate(
        location_quotient=safe_divide(s.county_share, s.province_share),
        growth=safe_divide(s.recent_fen - s.prior_fen, s.prior_fen),
        credit_quality=ibis.ifelse(s.due > 0, (s.paid_on_time + k * p0) / (s.due + k), ibis.null()),
        scale=(1.0 + (s.txn_amount_fen + s.loan_principal_fen) / 100.0).ln(),
    )
    s = s.mutate(
        z_scale=_zscore(s.scale, cfg.z_clip),
        z_growth=_zscore(s.growth.clip(lower=-1.0, upper=3.0), cfg.z_clip),
        z_concentration=_zscore(
            ibis.ifelse(s.location_quotient > 0, s.location_quotient.ln(), ibis.null()), cfg.z_clip
        ),
        z_credit_quality=_zscore(s.credit_quality, cfg.z_clip),
    )
    index = (
        cfg.weight("scale") * s.z_scale
        + cfg.weight("growth") * s.z_growth
        + cfg.weight("concentration") * s.z_concentration
        + cfg.weight("credit_quality") * s.z_credit_quality
    )
    return s.mutate(competitiveness_index=index)


def _with_season(t: Tables, scored: ir.Table, flows: ir.Table, keys: list[str]) -> ir.Table:
    monthly = flows.group_by([*keys, flows.txn_at.month().name("month")]).aggregate(
        month_fen=flows.amount_fen.sum()
    )
    order = [ibis.desc("month_fen"), ibis.asc("month")]
    ranked = monthly.mutate(_r=ibis.row_number().over(group_by=keys, order_by=order))
    peak = ranked.filter(ranked._r == 0).select(
        *keys, peak_month=ranked.month.cast("int64"), peak_fen=ranked.month_fen
    )
    counties = t.counties.select("county_id", "county_name")
    order_index = [ibis.desc(scored.competitiveness_index), ibis.asc(scored.industry)]
    scored = scored.mutate(_rank=ibis.row_number().over(group_by="county_id", order_by=order_index) + 1)
    s = scored.left_join(peak, [scored.county_id == peak.county_id, scored.industry == peak.industry])
    s = s.left_join(counties, s.county_id == counties.county_id)
    out = s.select(
        county_id=scored.county_id,
        county_name=counties.county_name,
        industry=scored.industry,
        industry_zh=scored.industry.substitute(INDUSTRY_ZH),
        rank_in_county=scored._rank.cast("int64"),
        competitiveness_index=scored.competitiveness_index.round(ROUND_DIGITS),
        location_quotient=scored.location_quotient,
        county_share=scored.county_share,
        province_share=scored.province_share,
        txn_amount_fen=scored.txn_amount_fen.cast("int64"),
        txn_count=scored.txn_count.cast("int64"),
        participants=scored.participants.cast("int64"),
        merchants=scored.merchants.cast("int64"),
        loan_count=scored.loan_count.cast("int64"),
        loan_principal_fen=scored.loan_principal_fen.cast("int64"),
        growth=scored.growth,
        seasonality_peak_share=safe_divide(peak.peak_fen, scored.txn_amount_fen),
        peak_month=peak.peak_month,
        credit_quality=scored.credit_quality,
        # Rounded: DuckDB and Spark compute standard deviations that differ in the last bits.
        z_scale=scored.z_scale.round(ROUND_DIGITS),
        z_growth=scored.z_growth.round(ROUND_DIGITS),
        z_concentration=scored.z_concentration.round(ROUND_DIGITS),
        z_credit_quality=scored.z_credit_quality.round(ROUND_DIGITS),
    )
    return out.order_by(["county_id", "rank_in_county"])
