"""Province summary as of a date: counts, AUM, customer mix, money flows, merchants, campaigns, loans and KPIs.

Every figure uses only data at or before the as-of date (``onboard_date <= as_of``, ``txn_at < as_of + 1 day``,
the latest ``month_end_date <= as_of``). The heavy lifting is Ibis expressions that run unchanged on DuckDB and
Spark (no ``mode()``, no ``asof_join``, no seeded ``sample``, every division guarded with ``.nullif(0)``, no
float sums inside the engine so results are identical on both and across reruns); only the small aggregated
results are shaped in pandas. This module holds the summary as a whole; the queries of each part live in
``summary_<part>.py`` next to the dataclass they fill, and ``summary_query.py`` holds what they share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq
from ibis import _

from youshu.pipeline.summary_aum import REST_ID, TOP_COUNTIES, TREND_MONTHS, Aum, aum, monthly_aum
from youshu.pipeline.summary_campaigns import CAMPAIGN_TYPE_ZH, CampaignResults, campaign_results
from youshu.pipeline.summary_customers import (
    AGE_BAND_ZH,
    AGE_BANDS,
    AGE_UNKNOWN,
    GENDER_ZH,
    OCCUPATION_ZH,
    CustomerMix,
    customer_mix,
)
from youshu.pipeline.summary_flows import CHANNEL_ZH, COUNTERPARTY_CATEGORY_ZH, Flows, flows
from youshu.pipeline.summary_kpis import KPI_METRIC_ZH, WEALTH_SALES_CATEGORIES, kpi_progress
from youshu.pipeline.summary_loans import DEFAULT_DAYS_PAST_DUE, LOAN_PRODUCT_ZH, LoanBook, loan_book
from youshu.pipeline.summary_merchants import (
    QR_RECENT_DAYS,
    QR_WEEKS,
    MerchantActivity,
    acquired_by,
    merchant_activity,
)
from youshu.pipeline.summary_query import TXN_WINDOW_DAYS, Tables, as_date, end_of, execute, execute_one
from youshu.schema.storage import parquet_files, table_dir
from youshu.schema.tables import TABLES, TABLES_BY_NAME

if TYPE_CHECKING:
    from youshu.engine import Engine

# Besides the summary itself, the names of its parts stay importable from here (they live in summary_<part>.py).
__all__ = [
    "AGE_BANDS",
    "AGE_BAND_ZH",
    "AGE_UNKNOWN",
    "CAMPAIGN_TYPE_ZH",
    "CHANNEL_ZH",
    "COUNTERPARTY_CATEGORY_ZH",
    "DEFAULT_DAYS_PAST_DUE",
    "GENDER_ZH",
    "KPI_METRIC_ZH",
    "LOAN_PRODUCT_ZH",
    "OCCUPATION_ZH",
    "QR_RECENT_DAYS",
    "QR_WEEKS",
    "REST_ID",
    "TOP_COUNTIES",
    "TREND_MONTHS",
    "TXN_WINDOW_DAYS",
    "WEALTH_SALES_CATEGORIES",
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
    "frame_records",
    "province_summary",
    "warehouse_row_counts",
]


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
    t = Tables(engine, warehouse)
    monthly = monthly_aum(engine, t, as_of)
    month_end = None if monthly.empty else monthly["month_end_date"].iloc[-1]
    data_start, data_end = _data_window(engine, t, as_of)
    return ProvinceSummary(
        as_of=as_of,
        data_start=data_start,
        data_end=data_end,
        counts=_counts(engine, t, as_of),
        aum=aum(engine, t, monthly, month_end),
        customers=customer_mix(engine, t, as_of),
        flows=flows(engine, t, as_of),
        merchants=merchant_activity(engine, t, as_of),
        campaigns=campaign_results(engine, t, as_of),
        loans=loan_book(engine, t, as_of),
        kpis=kpi_progress(engine, t, as_of, monthly),
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


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


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


# ------------------------------------------------------------------------------------------ counts


def _data_window(engine: Engine, t: Tables, as_of: date) -> tuple[date | None, date | None]:
    tx = t.transactions.filter(t.transactions.txn_at < end_of(as_of))
    row = execute(engine, tx.aggregate(first=tx.txn_at.min(), last=tx.txn_at.max())).iloc[0]
    return as_date(row["first"]), as_date(row["last"])


def _counts(engine: Engine, t: Tables, as_of: date) -> Counts:
    counties = execute_one(engine, t.counties.aggregate(n=t.counties.count()))["n"]
    o = t.outlets
    outlets = execute_one(engine, o.filter(o.opened_date <= as_of).aggregate(n=_.count()))["n"]
    c = t.customers
    customers = execute_one(engine, c.filter(c.onboard_date <= as_of).aggregate(n=_.count()))["n"]
    a = t.accounts
    is_open = (a.open_date <= as_of) & (a.close_date.isnull() | (a.close_date > as_of))
    accounts = execute_one(engine, a.filter(is_open).aggregate(n=_.count()))["n"]
    m = t.merchants
    acquired = acquired_by(m, as_of)
    row = execute_one(engine, m.aggregate(acquired=acquired.cast("int64").sum(), total=m.count()))
    return Counts(
        counties=int(counties),
        outlets=int(outlets),
        customers=int(customers),
        open_accounts=int(accounts),
        merchants_acquired=int(row["acquired"]),
        merchant_prospects=int(row["total"]) - int(row["acquired"]),
    )
