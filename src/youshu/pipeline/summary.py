"""Province summary as of a date: counts, AUM, customer mix, money flows, merchants, campaigns, loans and KPIs.

Every figure uses only data at or before the as-of date (``onboard_date <= as_of``, ``txn_at < as_of + 1 day``,
the latest ``month_end_date <= as_of``). The heavy lifting is Ibis expressions that run unchanged on DuckDB and
Spark (no ``mode()``, no ``asof_join``, no seeded ``sample``, every division guarded with ``.nullif(0)``, no
float sums inside the engine so results are identical on both and across reruns); only the small aggregated
results are shaped in pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow.parquet as pq
from ibis import _

from youshu.schema.enums import MERCHANT_CATEGORY_ZH
from youshu.schema.storage import parquet_files, table_dir
from youshu.schema.tables import TABLES, TABLES_BY_NAME

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "AGE_BANDS",
    "Aum",
    "CampaignResults",
    "Counts",
    "CustomerMix",
    "DataQuality",
    "Flows",
    "LoanBook",
    "MerchantActivity",
    "ProvinceSummary",
    "data_quality_from",
    "province_summary",
    "warehouse_row_counts",
]


def _labels(text: str) -> dict[str, str]:
    """Parse ``"key=名称 key2=名称2"`` into a dict (keeps the long label tables compact)."""
    return dict(item.split("=", 1) for item in text.split())


# Display names (zh) of enumerated values; the English value itself is shown as the subtitle.
CHANNEL_ZH = _labels(
    "counter=柜面 mobile=手机银行 atm=自助设备 qr=扫码支付 pos=POS刷卡 online=网银/快捷支付 auto=批量代发代扣"
)
COUNTERPARTY_CATEGORY_ZH = _labels(
    "payroll=代发工资 pension=养老金 social_security=社保医保 agri_subsidy=惠农补贴 agri_buyer=农产品收购商 "
    "farm_input=农资供应商 farmer=农户 distributor=经销商 ecommerce=电商平台 logistics=物流快递 "
    "other_bank_wealth=他行理财平台 fund_securities=基金证券公司 insurer=保险公司 utility=水电燃气 "
    "telecom=通信缴费 merchant=商户消费 acquiring_settlement=收单结算 p2p=个人转账 cash=现金存取 "
    "loan=贷款放还款 tax=税费 other=其他"
)
OCCUPATION_ZH = _labels(
    "farmer=农户 worker=务工人员 retiree=退休人员 merchant_owner=个体工商户 enterprise_owner=企业主 "
    "civil_servant=公务员 teacher_doctor=教师医生 student=学生 other=其他"
)
GENDER_ZH = _labels("F=女 M=男 unknown=未知(对公)")
LOAN_PRODUCT_ZH = _labels(
    "agri=农户小额贷款 business=个人经营贷款 consumer=消费贷款 mortgage=住房按揭 chain_credit=产业e贷"
)
KPI_METRIC_ZH = _labels(
    "new_customers=新增客户 new_effective_merchants=新增有效收单商户 assets_brought_in_fen=新增资产(万元) "
    "wealth_sales_fen=理财类销售(万元)"
)
CAMPAIGN_TYPE_ZH = _labels("coupon=异业联盟优惠券 referral=推荐有礼 product_promotion=产品促销")

# (label, lowest age inclusive); whole years of age on the as-of date. Businesses have no age.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("<18", 0), ("18-29", 18), ("30-39", 30), ("40-49", 40), ("50-59", 50), ("60-69", 60), ("70+", 70)
)  # fmt: skip
AGE_UNKNOWN = "unknown"
AGE_BAND_ZH = _labels(
    "<18=18岁以下 18-29=18-29岁 30-39=30-39岁 40-49=40-49岁 50-59=50-59岁 60-69=60-69岁 70+=70岁及以上"
)
AGE_BAND_ZH[AGE_UNKNOWN] = "未知(对公)"
TXN_WINDOW_DAYS = 90
QR_WEEKS = 12
QR_RECENT_DAYS = 30
TREND_MONTHS = 12
TOP_COUNTIES = 10
DEFAULT_DAYS_PAST_DUE = 90  # an instalment unpaid for more than 90 days counts as defaulted (不良)
# Products that count as wealth-type sales (理财类) for the wealth_sales_fen KPI: everything but deposits.
WEALTH_SALES_CATEGORIES = ("wealth", "fund", "insurance", "treasury_bond", "precious_metal")


@dataclass(frozen=True)
class Counts:
    """Head counts as of the date."""

    counties: int
    outlets: int
    customers: int
    open_accounts: int
    merchants_acquired: int
    merchant_prospects: int


@dataclass(frozen=True)
class Aum:
    """Assets under management (AUM) at the latest month end on or before the as-of date.

    Attributes
    ----------
    month_end : date or None
        The month end used (None when no balances exist yet).
    deposits_fen, holdings_fen : int
        Month-end deposit balances and product holdings, in fen.
    by_county : DataFrame
        ``county_id, county_name, city_name, customers, deposits_fen, holdings_fen, aum_fen, aum_share``:
        the top counties by AUM and one ``rest`` row (``county_id`` ``"_rest"``).
    trend : DataFrame
        ``month_end_date, deposits_fen, holdings_fen, aum_fen`` for up to 12 month ends.
    """

    month_end: date | None
    deposits_fen: int
    holdings_fen: int
    by_county: pd.DataFrame
    trend: pd.DataFrame

    @property
    def total_fen(self) -> int:
        """Deposits plus holdings, in fen."""
        return self.deposits_fen + self.holdings_fen


@dataclass(frozen=True)
class CustomerMix:
    """Customers onboarded by the as-of date, by age band, gender and occupation (``key, name_zh, customers``)."""

    by_age_band: pd.DataFrame
    by_gender: pd.DataFrame
    by_occupation: pd.DataFrame


@dataclass(frozen=True)
class Flows:
    """Account transactions in the window ``window_start``..``window_end`` (both inclusive, local dates).

    ``by_category`` and ``by_channel`` have ``key, name_zh, txn_count, amount_fen, in_fen, out_fen``.
    """

    window_start: date
    window_end: date
    txn_count: int
    amount_fen: int
    by_category: pd.DataFrame
    by_channel: pd.DataFrame


@dataclass(frozen=True)
class MerchantActivity:
    """Merchants by category and QR-code payments (收单) over recent weeks.

    ``by_category``: ``category, name_zh, acquired, prospects, qr_payments_90d, qr_amount_fen_90d``.
    ``qr_weekly``: ``week_start, week_end, payments, amount_fen, active_merchants, paying_customers``, oldest
    first; the last week ends on the as-of date.
    """

    by_category: pd.DataFrame
    qr_weekly: pd.DataFrame
    qr_30d_payments: int
    qr_30d_amount_fen: int
    qr_30d_active_merchants: int


@dataclass(frozen=True)
class CampaignResults:
    """Campaigns started by the as-of date with raw outcome rates per group (descriptive, not causal).

    ``by_campaign``: ``campaign_id, campaign_name, campaign_type, start_date, end_date, members, treatment,
    control, coupons_issued, coupons_redeemed, redemption_rate, referrals, referred_treatment,
    referred_control, referral_rate_treatment, referral_rate_control``.
    """

    by_campaign: pd.DataFrame
    members: int
    treatment: int
    control: int
    coupons_issued: int
    coupons_redeemed: int
    referred_treatment: int
    referred_control: int

    @property
    def redemption_rate(self) -> float | None:
        """Redeemed coupons over coupons issued."""
        return _ratio(self.coupons_redeemed, self.coupons_issued)

    @property
    def referral_rate_treatment(self) -> float | None:
        """Share of treatment members who converted (new account or bound card)."""
        return _ratio(self.referred_treatment, self.treatment)

    @property
    def referral_rate_control(self) -> float | None:
        """Share of control members who converted anyway."""
        return _ratio(self.referred_control, self.control)


@dataclass(frozen=True)
class LoanBook:
    """Loans issued by the as-of date and still outstanding, with arrears judged from repayments by that date.

    A loan is overdue when an instalment due before the as-of date was not fully paid by it, and defaulted
    when the oldest such instalment is more than 90 days past due. Outstanding principal is the principal
    times the share of the repayment schedule not yet paid (the whole principal when there is no schedule).
    ``by_product``: ``product, name_zh, loans, outstanding_fen, overdue_loans, overdue_fen, defaulted_loans,
    defaulted_fen``.
    """

    loans: int
    outstanding_fen: int
    overdue_loans: int
    overdue_fen: int
    defaulted_loans: int
    defaulted_fen: int
    by_product: pd.DataFrame

    @property
    def overdue_share(self) -> float | None:
        """Outstanding principal of overdue (not defaulted) loans over all outstanding principal."""
        return _ratio(self.overdue_fen, self.outstanding_fen)

    @property
    def defaulted_share(self) -> float | None:
        """Outstanding principal of defaulted loans over all outstanding principal."""
        return _ratio(self.defaulted_fen, self.outstanding_fen)


@dataclass(frozen=True)
class DataQuality:
    """What validation found, and how many rows each canonical table holds (all dates)."""

    ok: bool
    problem_count: int
    messages: tuple[str, ...]
    row_counts: pd.DataFrame  # table, name_zh, rows


@dataclass(frozen=True)
class ProvinceSummary:
    """Everything the province report shows, as of one date; small enough to keep in memory."""

    as_of: date
    data_start: date | None
    data_end: date | None
    counts: Counts
    aum: Aum
    customers: CustomerMix
    flows: Flows
    merchants: MerchantActivity
    campaigns: CampaignResults
    loans: LoanBook
    kpis: pd.DataFrame
    data_quality: DataQuality | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The summary's tables by output name (for ``summary/<name>.parquet``)."""
        out = {
            "aum_by_county": self.aum.by_county,
            "aum_trend": self.aum.trend,
            "customers_by_age_band": self.customers.by_age_band,
            "customers_by_gender": self.customers.by_gender,
            "customers_by_occupation": self.customers.by_occupation,
            "transactions_by_category": self.flows.by_category,
            "transactions_by_channel": self.flows.by_channel,
            "merchants_by_category": self.merchants.by_category,
            "qr_weekly": self.merchants.qr_weekly,
            "campaigns": self.campaigns.by_campaign,
            "loans_by_product": self.loans.by_product,
            "kpi_progress": self.kpis,
        }
        if self.data_quality is not None:
            out["row_counts"] = self.data_quality.row_counts
        return out

    def headline(self) -> dict[str, Any]:
        """The headline figures (plain numbers; money in fen, shares as fractions)."""
        top = self.aum.by_county[self.aum.by_county["county_id"] != REST_ID]
        return {
            "as_of": self.as_of.isoformat(),
            "customers": self.counts.customers,
            "open_accounts": self.counts.open_accounts,
            "aum_fen": self.aum.total_fen,
            "deposits_fen": self.aum.deposits_fen,
            "holdings_fen": self.aum.holdings_fen,
            "aum_month_end": _iso(self.aum.month_end),
            "top_county": None if top.empty else str(top.iloc[0]["county_name"]),
            "top_county_aum_fen": None if top.empty else int(top.iloc[0]["aum_fen"]),
            "qr_30d_payments": self.merchants.qr_30d_payments,
            "qr_30d_amount_fen": self.merchants.qr_30d_amount_fen,
            "qr_30d_active_merchants": self.merchants.qr_30d_active_merchants,
            "loans_outstanding_fen": self.loans.outstanding_fen,
            "loans_overdue_share": self.loans.overdue_share,
            "loans_defaulted_share": self.loans.defaulted_share,
            "coupon_redemption_rate": self.campaigns.redemption_rate,
            "referral_rate_treatment": self.campaigns.referral_rate_treatment,
            "referral_rate_control": self.campaigns.referral_rate_control,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: headline, the scalar figures of each part and every table as records."""
        parts: dict[str, Any] = {
            "counts": self.counts,
            "aum": self.aum,
            "transactions": self.flows,
            "merchants": self.merchants,
            "campaigns": self.campaigns,
            "loans": self.loans,
            "data_quality": self.data_quality,
        }
        return {
            "as_of": self.as_of.isoformat(),
            "data_window": {"start": _iso(self.data_start), "end": _iso(self.data_end)},
            "headline": self.headline(),
            **{key: None if part is None else _scalars(part) for key, part in parts.items()},
            "tables": {name: frame_records(df) for name, df in self.tables().items()},
        }


# Derived figures (properties) that summary.json carries next to the stored fields.
_DERIVED = (
    "total_fen",
    "redemption_rate",
    "referral_rate_treatment",
    "referral_rate_control",
    "overdue_share",
    "defaulted_share",
)


def _scalars(part: Any) -> dict[str, Any]:
    """The non-table fields and derived figures of a summary part, JSON-ready."""
    values = {f.name: getattr(part, f.name) for f in fields(part)}
    values.update({name: getattr(part, name) for name in _DERIVED if hasattr(part, name)})
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, pd.DataFrame):
            continue
        out[key] = (
            value.isoformat()
            if isinstance(value, date)
            else list(value)
            if isinstance(value, tuple)
            else value
        )
    return out


REST_ID = "_rest"


def province_summary(
    engine: Engine,
    warehouse: Path,
    as_of: date,
    *,
    data_quality: DataQuality | None = None,
) -> ProvinceSummary:
    """Summarise a province warehouse as of a date.

    Parameters
    ----------
    engine : youshu.engine.Engine
        Where the expressions run (DuckDB or Spark).
    warehouse : Path
        Folder of canonical tables.
    as_of : date
        Last day whose data may be used (local date).
    data_quality : DataQuality, optional
        The validation outcome to carry along (see :func:`data_quality_from`); the pipeline validates first.

    Returns
    -------
    ProvinceSummary
        Small dataclasses and pandas DataFrames; money in integer fen.

    Examples
    --------
    >>> from youshu.engine import connect  # doctest: +SKIP
    >>> with connect("duckdb") as engine:  # doctest: +SKIP
    ...     s = province_summary(engine, Path("demo/warehouse"), date(2025, 9, 30))
    ...     print(s.aum.total_fen / 1e6, "万元")
    """
    warehouse = Path(warehouse)
    t = _Tables(engine, warehouse)
    monthly = _monthly_aum(engine, t, as_of)
    month_end = None if monthly.empty else monthly["month_end_date"].iloc[-1]
    data_start, data_end = _data_window(engine, t, as_of)
    return ProvinceSummary(
        as_of=as_of,
        data_start=data_start,
        data_end=data_end,
        counts=_counts(engine, t, as_of),
        aum=_aum(engine, t, monthly, month_end),
        customers=_customer_mix(engine, t, as_of),
        flows=_flows(engine, t, as_of),
        merchants=_merchant_activity(engine, t, as_of),
        campaigns=_campaigns(engine, t, as_of),
        loans=_loans(engine, t, as_of),
        kpis=_kpis(engine, t, as_of, monthly),
        data_quality=data_quality,
    )


def warehouse_row_counts(warehouse: Path) -> dict[str, int]:
    """Rows per canonical table, read from the Parquet footers (no data scanned; all dates; 0 when absent)."""
    counts: dict[str, int] = {}
    for spec in TABLES:
        files = parquet_files(table_dir(Path(warehouse), spec.name))
        counts[spec.name] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return counts


def data_quality_from(report: Any, row_counts: Mapping[str, int], *, max_messages: int = 20) -> DataQuality:
    """Summarise a validation report and the table row counts for the data-quality section.

    Parameters
    ----------
    report : ValidationReport
        Anything with ``.ok`` and ``.problems``; problem texts come from the validator, which masks
        personal data.
    row_counts : mapping of str to int
        Rows per table (see :func:`warehouse_row_counts`).
    max_messages : int
        How many problem texts to keep.

    Returns
    -------
    DataQuality
    """
    problems = list(getattr(report, "problems", []) or [])
    ok = bool(getattr(report, "ok", not problems))
    frame = pd.DataFrame(
        {
            "table": list(row_counts),
            "name_zh": [TABLES_BY_NAME[n].zh if n in TABLES_BY_NAME else "" for n in row_counts],
            "rows": [int(v) for v in row_counts.values()],
        }
    ).astype({"rows": "int64"})
    return DataQuality(
        ok=ok,
        problem_count=len(problems),
        messages=tuple(str(p) for p in problems[:max_messages]),
        row_counts=frame,
    )


# --------------------------------------------------------------------------------------------- helpers


class _Tables:
    """Lazy access to the canonical tables of one warehouse."""

    def __init__(self, engine: Engine, warehouse: Path) -> None:
        self._engine = engine
        self._warehouse = warehouse
        self._cache: dict[str, ir.Table] = {}

    def __getattr__(self, name: str) -> ir.Table:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self._engine.table(self._warehouse, name)
        return self._cache[name]


def _end_of(day: date) -> datetime:
    """Midnight after ``day``: timestamps strictly before it fall on or before ``day``."""
    return datetime.combine(day + timedelta(days=1), time())


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time())


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _ratio(num: float | int | None, den: float | int | None) -> float | None:
    """``num / den``, or None when the denominator is zero or missing (never inf or NaN)."""
    if num is None or den is None or den == 0:
        return None
    value = float(num) / float(den)
    return None if math.isnan(value) else value


def _run(engine: Engine, expr: ir.Table) -> pd.DataFrame:
    return engine.execute(expr).reset_index(drop=True)


def _one(engine: Engine, expr: ir.Table) -> dict[str, Any]:
    """Run a one-row aggregate; nulls (sums over no rows) become 0."""
    row = _run(engine, expr).iloc[0].to_dict()
    return {k: (0 if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()}


def _ints(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Cast count and fen columns to int64 (nulls from empty sums become 0) so both engines agree."""
    for c in columns:
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    return df


def _dates(values: pd.Series) -> pd.Series:
    """A column of ``datetime.date`` whatever the engine returned (datetime64, Timestamp or date)."""
    return pd.Series(
        [None if pd.isna(v) else pd.Timestamp(v).date() for v in values], index=values.index, dtype=object
    )


def _as_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _labelled(
    df: pd.DataFrame,
    key: str,
    names: Mapping[str, str],
    order: Sequence[str],
    value_columns: Sequence[str],
) -> pd.DataFrame:
    """Rename ``key`` to ``key``, add ``name_zh``, add zero rows for missing keys and sort in ``order``."""
    df = df.rename(columns={key: "key"})
    df["key"] = df["key"].fillna("unknown").astype(str)
    known = list(order) + sorted(set(df["key"]) - set(order))
    full = pd.DataFrame({"key": pd.Series(known, dtype=object)}).merge(df, on="key", how="left")
    full = _ints(full, value_columns)
    full.insert(1, "name_zh", [names.get(k, k) for k in full["key"]])
    return full.reset_index(drop=True)


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts: numpy scalars to Python, dates to ISO text, NaN to None."""
    records: list[dict[str, Any]] = []
    for row in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, date):
                clean[str(k)] = v.isoformat()
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                clean[str(k)] = None
            elif hasattr(v, "item"):
                clean[str(k)] = v.item()
            else:
                clean[str(k)] = v
        records.append(clean)
    return records


# ------------------------------------------------------------------------------------------ sections


def _data_window(engine: Engine, t: _Tables, as_of: date) -> tuple[date | None, date | None]:
    tx = t.transactions.filter(t.transactions.txn_at < _end_of(as_of))
    row = _run(engine, tx.aggregate(first=tx.txn_at.min(), last=tx.txn_at.max())).iloc[0]
    return _as_date(row["first"]), _as_date(row["last"])


def _counts(engine: Engine, t: _Tables, as_of: date) -> Counts:
    counties = _one(engine, t.counties.aggregate(n=t.counties.count()))["n"]
    o = t.outlets
    outlets = _one(engine, o.filter(o.opened_date <= as_of).aggregate(n=_.count()))["n"]
    c = t.customers
    customers = _one(engine, c.filter(c.onboard_date <= as_of).aggregate(n=_.count()))["n"]
    a = t.accounts
    is_open = (a.open_date <= as_of) & (a.close_date.isnull() | (a.close_date > as_of))
    accounts = _one(engine, a.filter(is_open).aggregate(n=_.count()))["n"]
    m = t.merchants
    acquired = _acquired_by(m, as_of)
    row = _one(engine, m.aggregate(acquired=acquired.cast("int64").sum(), total=m.count()))
    return Counts(
        counties=int(counties),
        outlets=int(outlets),
        customers=int(customers),
        open_accounts=int(accounts),
        merchants_acquired=int(row["acquired"]),
        merchant_prospects=int(row["total"]) - int(row["acquired"]),
    )


def _acquired_by(m: ir.Table, as_of: date) -> ir.BooleanValue:
    """Whether a merchant had been signed for acquiring by ``as_of`` (later signings were still prospects)."""
    return (m.is_acquired & (m.onboard_date <= as_of)).fill_null(False)


def _monthly_aum(engine: Engine, t: _Tables, as_of: date) -> pd.DataFrame:
    """Deposits and holdings per month end up to ``as_of``, oldest first, over all month ends with balances."""
    b = t.balances.filter(t.balances.month_end_date <= as_of)
    h = t.holdings.filter(t.holdings.month_end_date <= as_of)
    dep = _run(engine, b.group_by("month_end_date").aggregate(deposits_fen=b.balance_fen.sum()))
    hold = _run(engine, h.group_by("month_end_date").aggregate(holdings_fen=h.value_fen.sum()))
    dep["month_end_date"] = _dates(dep["month_end_date"])
    hold["month_end_date"] = _dates(hold["month_end_date"])
    # Month ends are those with deposit balances; holdings alone do not define a snapshot.
    out = dep.merge(hold, on="month_end_date", how="left")
    out = _ints(out, ["deposits_fen", "holdings_fen"])
    out["aum_fen"] = out["deposits_fen"] + out["holdings_fen"]
    return out.sort_values("month_end_date").reset_index(drop=True)


def _aum(engine: Engine, t: _Tables, monthly: pd.DataFrame, month_end: date | None) -> Aum:
    trend = monthly.tail(TREND_MONTHS).reset_index(drop=True)
    columns = [
        "county_id",
        "county_name",
        "city_name",
        "customers",
        "deposits_fen",
        "holdings_fen",
        "aum_fen",
    ]
    if month_end is None:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        empty["aum_share"] = pd.Series(dtype="float64")
        return Aum(None, 0, 0, empty, trend)
    last = monthly.iloc[-1]
    cust = t.customers.select("customer_id", "county_id")
    b = t.balances.filter(t.balances.month_end_date == month_end)
    acc = t.accounts.select("account_id", "customer_id")
    dep = b.join(acc, "account_id").join(cust, "customer_id")
    dep_by = _run(engine, dep.group_by("county_id").aggregate(deposits_fen=dep.balance_fen.sum()))
    h = t.holdings.filter(t.holdings.month_end_date == month_end)
    hold = h.join(cust, "customer_id")
    hold_by = _run(engine, hold.group_by("county_id").aggregate(holdings_fen=hold.value_fen.sum()))
    c = t.customers.filter(t.customers.onboard_date <= month_end)
    cust_by = _run(engine, c.group_by("county_id").aggregate(customers=c.count()))
    counties = _run(engine, t.counties.select("county_id", "county_name", "city_name"))
    frame = counties.merge(cust_by, on="county_id", how="left")
    frame = frame.merge(dep_by, on="county_id", how="left").merge(hold_by, on="county_id", how="left")
    frame = _ints(frame, ["customers", "deposits_fen", "holdings_fen"])
    frame["aum_fen"] = frame["deposits_fen"] + frame["holdings_fen"]
    frame = frame.sort_values(["aum_fen", "county_id"], ascending=[False, True]).reset_index(drop=True)
    top, rest = frame.head(TOP_COUNTIES), frame.iloc[TOP_COUNTIES:]
    if not rest.empty:
        rest_row = {
            "county_id": REST_ID,
            "county_name": f"其余{len(rest)}个区县",
            "city_name": "",
            **{k: int(rest[k].sum()) for k in ["customers", "deposits_fen", "holdings_fen", "aum_fen"]},
        }
        top = pd.concat([top, pd.DataFrame([rest_row])], ignore_index=True)
    top = _ints(top[columns].copy(), ["customers", "deposits_fen", "holdings_fen", "aum_fen"])
    total = int(last["aum_fen"])
    top["aum_share"] = [_ratio(v, total) for v in top["aum_fen"]]
    top["aum_share"] = top["aum_share"].astype("float64")
    return Aum(month_end, int(last["deposits_fen"]), int(last["holdings_fen"]), top, trend)


def _age_band(c: ir.Table, as_of: date) -> ir.StringValue:
    born = c.birth_date
    had_birthday = (born.month() < as_of.month) | ((born.month() == as_of.month) & (born.day() <= as_of.day))
    age = as_of.year - born.year() - ibis.ifelse(had_birthday, 0, 1)
    branches = [(age >= low, label) for label, low in reversed(AGE_BANDS)]
    return ibis.cases((born.isnull(), AGE_UNKNOWN), *branches, else_=AGE_UNKNOWN)


def _customer_mix(engine: Engine, t: _Tables, as_of: date) -> CustomerMix:
    c = t.customers.filter(t.customers.onboard_date <= as_of)
    age = _run(engine, c.group_by(key=_age_band(c, as_of)).aggregate(customers=c.count()))
    bands = [label for label, _ in AGE_BANDS]
    gender = _run(engine, c.group_by(key=c.gender.fill_null("unknown")).aggregate(customers=c.count()))
    occ = _run(engine, c.group_by(key=c.occupation).aggregate(customers=c.count()))
    return CustomerMix(
        by_age_band=_labelled(age, "key", AGE_BAND_ZH, [*bands, AGE_UNKNOWN], ["customers"]),
        by_gender=_labelled(gender, "key", GENDER_ZH, ["F", "M", "unknown"], ["customers"]),
        by_occupation=_labelled(occ, "key", OCCUPATION_ZH, list(OCCUPATION_ZH), ["customers"]),
    )


def _flow_aggregates(tx: ir.Table) -> dict[str, ir.Value]:
    inflow = tx.direction == "in"
    return {
        "txn_count": tx.count(),
        "amount_fen": tx.amount_fen.sum(),
        "in_fen": ibis.ifelse(inflow, tx.amount_fen, 0).sum(),
        "out_fen": ibis.ifelse(inflow, 0, tx.amount_fen).sum(),
    }


def _flows(engine: Engine, t: _Tables, as_of: date) -> Flows:
    start = as_of - timedelta(days=TXN_WINDOW_DAYS - 1)
    tx = t.transactions
    tx = tx.filter(tx.txn_at >= _start_of(start), tx.txn_at < _end_of(as_of))
    values = ["txn_count", "amount_fen", "in_fen", "out_fen"]
    cat = _run(engine, tx.group_by(key=tx.counterparty_category).aggregate(**_flow_aggregates(tx)))
    chan = _run(engine, tx.group_by(key=tx.channel).aggregate(**_flow_aggregates(tx)))
    by_cat = _labelled(cat, "key", COUNTERPARTY_CATEGORY_ZH, [], values)
    by_cat = by_cat.sort_values(["amount_fen", "key"], ascending=[False, True]).reset_index(drop=True)
    by_chan = _labelled(chan, "key", CHANNEL_ZH, list(CHANNEL_ZH), values)
    return Flows(
        window_start=start,
        window_end=as_of,
        txn_count=int(by_cat["txn_count"].sum()),
        amount_fen=int(by_cat["amount_fen"].sum()),
        by_category=by_cat,
        by_channel=by_chan,
    )


def _merchant_activity(engine: Engine, t: _Tables, as_of: date) -> MerchantActivity:
    m = t.merchants
    acquired = _acquired_by(m, as_of).cast("int64")
    cats = _run(engine, m.group_by("category").aggregate(acquired=acquired.sum(), total=m.count()))
    a = t.acquiring_transactions
    end = _end_of(as_of)
    recent = a.filter(a.paid_at >= _start_of(as_of - timedelta(days=TXN_WINDOW_DAYS - 1)), a.paid_at < end)
    qr = recent.join(m.select("merchant_id", "category"), "merchant_id")
    qr_cats = _run(
        engine,
        qr.group_by("category").aggregate(qr_payments_90d=qr.count(), qr_amount_fen_90d=qr.amount_fen.sum()),
    )
    frame = cats.merge(qr_cats, on="category", how="left")
    frame = _ints(frame, ["acquired", "total", "qr_payments_90d", "qr_amount_fen_90d"])
    frame["prospects"] = frame["total"] - frame["acquired"]
    order = list(MERCHANT_CATEGORY_ZH)
    frame = _labelled(
        frame[["category", "acquired", "prospects", "qr_payments_90d", "qr_amount_fen_90d"]],
        "category",
        MERCHANT_CATEGORY_ZH,
        order,
        ["acquired", "prospects", "qr_payments_90d", "qr_amount_fen_90d"],
    ).rename(columns={"key": "category"})

    # Week k (0 = the latest) covers the 7 days ending on as_of - 7k; a CASE keeps this portable.
    first_day = as_of - timedelta(days=7 * QR_WEEKS - 1)
    weeks = a.filter(a.paid_at >= _start_of(first_day), a.paid_at < end)
    branches = [(weeks.paid_at >= _start_of(as_of - timedelta(days=7 * k + 6)), k) for k in range(QR_WEEKS)]
    week = ibis.cases(*branches, else_=QR_WEEKS)
    weekly = _run(
        engine,
        weeks.group_by(week=week).aggregate(
            payments=weeks.count(),
            amount_fen=weeks.amount_fen.sum(),
            active_merchants=weeks.merchant_id.nunique(),
            paying_customers=weeks.payer_customer_id.nunique(),
        ),
    )
    grid = pd.DataFrame({"week": list(range(QR_WEEKS - 1, -1, -1))})
    weekly = _ints(
        grid.merge(weekly, on="week", how="left"),
        ["payments", "amount_fen", "active_merchants", "paying_customers"],
    )
    weekly.insert(0, "week_end", [as_of - timedelta(days=7 * int(k)) for k in weekly["week"]])
    weekly.insert(0, "week_start", [as_of - timedelta(days=7 * int(k) + 6) for k in weekly["week"]])
    weekly = weekly.drop(columns="week")

    last30 = a.filter(a.paid_at >= _start_of(as_of - timedelta(days=QR_RECENT_DAYS - 1)), a.paid_at < end)
    row = _one(
        engine,
        last30.aggregate(
            n=last30.count(), amount=last30.amount_fen.sum(), merchants=last30.merchant_id.nunique()
        ),
    )
    return MerchantActivity(
        by_category=frame,
        qr_weekly=weekly,
        qr_30d_payments=int(row["n"]),
        qr_30d_amount_fen=int(row["amount"]),
        qr_30d_active_merchants=int(row["merchants"]),
    )


def _campaigns(engine: Engine, t: _Tables, as_of: date) -> CampaignResults:
    end = _end_of(as_of)
    camp = t.campaigns.filter(t.campaigns.start_date <= as_of)
    info = _run(
        engine, camp.select("campaign_id", "campaign_name", "campaign_type", "start_date", "end_date")
    )
    mem = t.campaign_members.filter(t.campaign_members.assigned_date <= as_of)
    control = mem.is_control.cast("int64")
    members = _run(engine, mem.group_by("campaign_id").aggregate(members=mem.count(), control=control.sum()))
    cp = t.coupons.filter(t.coupons.issued_date <= as_of)
    issued = _run(engine, cp.group_by("campaign_id").aggregate(coupons_issued=cp.count()))
    rd = t.redemptions.filter(t.redemptions.redeemed_at < end).select("coupon_id")
    rd = rd.join(cp.select("coupon_id", "campaign_id"), "coupon_id")
    redeemed = _run(engine, rd.group_by("campaign_id").aggregate(coupons_redeemed=rd.coupon_id.nunique()))
    ref = t.referrals.filter(t.referrals.referral_date <= as_of)
    ref_count = _run(engine, ref.group_by("campaign_id").aggregate(referrals=ref.count()))
    converted = ref.select("campaign_id", "customer_id").distinct()
    conv = converted.join(
        mem.select("campaign_id", "customer_id", "is_control"), ["campaign_id", "customer_id"]
    )
    in_control = conv.is_control.cast("int64")
    referred = _run(
        engine,
        conv.group_by("campaign_id").aggregate(
            referred_control=in_control.sum(), referred_treatment=(1 - in_control).sum()
        ),
    )
    frame = info
    for part in (members, issued, redeemed, ref_count, referred):
        frame = frame.merge(part, on="campaign_id", how="left")
    counts = [
        "members",
        "control",
        "coupons_issued",
        "coupons_redeemed",
        "referrals",
        "referred_control",
        "referred_treatment",
    ]
    for c in counts:
        if c not in frame:
            frame[c] = 0
    frame = _ints(frame, counts)
    frame["treatment"] = frame["members"] - frame["control"]
    frame["start_date"] = _dates(frame["start_date"])
    frame["end_date"] = _dates(frame["end_date"])
    frame["redemption_rate"] = _rates(frame["coupons_redeemed"], frame["coupons_issued"])
    frame["referral_rate_treatment"] = _rates(frame["referred_treatment"], frame["treatment"])
    frame["referral_rate_control"] = _rates(frame["referred_control"], frame["control"])
    frame.insert(3, "campaign_type_zh", [CAMPAIGN_TYPE_ZH.get(v, v) for v in frame["campaign_type"]])
    frame = frame[
        [
            "campaign_id",
            "campaign_name",
            "campaign_type",
            "campaign_type_zh",
            "start_date",
            "end_date",
            "members",
            "treatment",
            "control",
            "coupons_issued",
            "coupons_redeemed",
            "redemption_rate",
            "referrals",
            "referred_treatment",
            "referred_control",
            "referral_rate_treatment",
            "referral_rate_control",
        ]
    ]
    frame = frame.sort_values(["start_date", "campaign_id"]).reset_index(drop=True)
    return CampaignResults(
        by_campaign=frame,
        members=int(frame["members"].sum()),
        treatment=int(frame["treatment"].sum()),
        control=int(frame["control"].sum()),
        coupons_issued=int(frame["coupons_issued"].sum()),
        coupons_redeemed=int(frame["coupons_redeemed"].sum()),
        referred_treatment=int(frame["referred_treatment"].sum()),
        referred_control=int(frame["referred_control"].sum()),
    )


def _rates(num: pd.Series, den: pd.Series) -> pd.Series:
    return pd.Series([_ratio(n, d) for n, d in zip(num, den, strict=True)], index=num.index, dtype="float64")


def _loans(engine: Engine, t: _Tables, as_of: date) -> LoanBook:
    rp = t.loan_repayments
    paid_by_now = rp.paid_date.notnull() & (rp.paid_date <= as_of)
    unpaid_due = (rp.due_date < as_of) & (~paid_by_now | (rp.amount_paid_fen < rp.amount_due_fen)).fill_null(
        True
    )
    schedule = rp.group_by("loan_id").aggregate(
        total_due_fen=rp.amount_due_fen.sum(),
        paid_fen=ibis.ifelse(paid_by_now, rp.amount_paid_fen, 0).sum(),
        oldest_unpaid_due=ibis.ifelse(unpaid_due, rp.due_date, ibis.null("date")).min(),
    )
    ln = t.loans.filter(t.loans.issue_date <= as_of).select("loan_id", "product", "principal_fen")
    j = ln.left_join(schedule, "loan_id")
    unpaid_share = (1 - j.paid_fen / j.total_due_fen.nullif(0)).clip(lower=0, upper=1)
    # Per-loan integer fen keeps sums exact, so DuckDB and Spark (and reruns) agree to the fen.
    outstanding = (j.principal_fen * unpaid_share.fill_null(1)).floor().cast("int64")
    default_line = as_of - timedelta(days=DEFAULT_DAYS_PAST_DUE)
    defaulted = (j.oldest_unpaid_due < default_line).fill_null(False)
    overdue = (j.oldest_unpaid_due.notnull() & ~defaulted).fill_null(False)
    per_loan = j.select(product=j.product, outstanding=outstanding, overdue=overdue, defaulted=defaulted)
    per_loan = per_loan.filter(per_loan.outstanding > 0)
    by = _run(
        engine,
        per_loan.group_by("product").aggregate(
            loans=per_loan.count(),
            outstanding_fen=per_loan.outstanding.sum(),
            overdue_loans=per_loan.overdue.cast("int64").sum(),
            overdue_fen=ibis.ifelse(per_loan.overdue, per_loan.outstanding, 0).sum(),
            defaulted_loans=per_loan.defaulted.cast("int64").sum(),
            defaulted_fen=ibis.ifelse(per_loan.defaulted, per_loan.outstanding, 0).sum(),
        ),
    )
    values = ["loans", "outstanding_fen", "overdue_loans", "overdue_fen", "defaulted_loans", "defaulted_fen"]
    frame = _labelled(by, "product", LOAN_PRODUCT_ZH, list(LOAN_PRODUCT_ZH), values).rename(
        columns={"key": "product"}
    )
    return LoanBook(**{k: int(frame[k].sum()) for k in values}, by_product=frame)


def _kpis(engine: Engine, t: _Tables, as_of: date, monthly: pd.DataFrame) -> pd.DataFrame:
    """Targets of the periods containing ``as_of`` (summed over outlets) with what was achieved so far."""
    k = t.kpi_targets.filter(t.kpi_targets.period_start <= as_of, t.kpi_targets.period_end >= as_of)
    targets = _run(
        engine,
        k.group_by(["period_start", "period_end", "metric"]).aggregate(
            target_value=k.target_value.sum(), outlets=k.count()
        ),
    )
    columns = [
        "period_start",
        "period_end",
        "metric",
        "name_zh",
        "outlets",
        "target_value",
        "actual_value",
        "achievement",
        "period_elapsed",
    ]
    if targets.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    targets["period_start"] = _dates(targets["period_start"])
    targets["period_end"] = _dates(targets["period_end"])
    targets = _ints(targets, ["target_value", "outlets"])
    actuals: dict[tuple[date, str], int | None] = {}
    for start in sorted(set(targets["period_start"])):
        for metric, value in _kpi_actuals(engine, t, start, as_of, monthly).items():
            actuals[(start, metric)] = value
    targets["actual_value"] = pd.array(
        [actuals.get((s, m)) for s, m in zip(targets["period_start"], targets["metric"], strict=True)],
        dtype="Int64",
    )
    targets["achievement"] = pd.Series(
        [
            None if pd.isna(a) else _ratio(int(a), tv)
            for a, tv in zip(targets["actual_value"], targets["target_value"], strict=True)
        ],
        dtype="float64",
    )
    targets["period_elapsed"] = [
        _ratio((as_of - s).days + 1, (e - s).days + 1)
        for s, e in zip(targets["period_start"], targets["period_end"], strict=True)
    ]
    targets["name_zh"] = [KPI_METRIC_ZH.get(m, m) for m in targets["metric"]]
    order = {m: i for i, m in enumerate(KPI_METRIC_ZH)}
    targets["_order"] = [order.get(m, len(order)) for m in targets["metric"]]
    targets = targets.sort_values(["period_start", "period_end", "_order", "metric"]).reset_index(drop=True)
    return targets[columns]


def _kpi_actuals(
    engine: Engine, t: _Tables, start: date, as_of: date, monthly: pd.DataFrame
) -> dict[str, int | None]:
    """What each KPI metric achieved from ``start`` to ``as_of`` inclusive."""
    c = t.customers
    new_customers = _one(
        engine, c.filter(c.onboard_date >= start, c.onboard_date <= as_of).aggregate(n=_.count())
    )
    m = t.merchants
    signed = m.filter(_acquired_by(m, as_of), m.onboard_date >= start)
    a = t.acquiring_transactions
    paid = a.filter(a.paid_at >= _start_of(start), a.paid_at < _end_of(as_of)).select("merchant_id")
    effective = signed.semi_join(paid, "merchant_id")
    new_merchants = _one(engine, effective.aggregate(n=effective.count()))
    p = t.purchases.filter(t.purchases.purchase_date >= start, t.purchases.purchase_date <= as_of)
    wealth = t.products.filter(t.products.category.isin(WEALTH_SALES_CATEGORIES)).select("product_id")
    sales = p.semi_join(wealth, "product_id")
    wealth_sales = _one(engine, sales.aggregate(n=sales.amount_fen.sum()))
    # Assets brought in: AUM growth from the last month end before the period to the latest month end.
    before = monthly[monthly["month_end_date"] < start]
    growth = (
        None
        if before.empty or monthly.empty
        else int(monthly["aum_fen"].iloc[-1] - before["aum_fen"].iloc[-1])
    )
    return {
        "new_customers": int(new_customers["n"]),
        "new_effective_merchants": int(new_merchants["n"]),
        "wealth_sales_fen": int(wealth_sales["n"]),
        "assets_brought_in_fen": growth,
    }
