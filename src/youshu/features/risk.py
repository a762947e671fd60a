"""Risky-account (money-mule) features as of a date: 1/7/30-day flows, fan-in/out, pass-through, night, bursts.

The features work on a *ledger*: one row per posting on an account (``account_id, txn_at, direction,
amount_fen, counterparty_id, counterparty_account_id, counterparty_category``). :func:`ledger_from_transactions`
makes it from the canonical ``transactions`` table; :func:`ledger_from_edges` from any transfer edge list
(``from_account, to_account, amount, timestamp``), so outside AML data sets can be scored with the same
definitions. Everything is an Ibis expression that runs on DuckDB and Spark; nothing here reads ``truth/``.

Timestamps are Asia/Shanghai wall-clock times stored without a zone, so "night" is simply the local hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from youshu.engine.base import Tables, safe_divide
from youshu.errors import YoushuError
from youshu.features.catalog import IBIS_TYPES, KINDS, FeatureSpec
from youshu.features.common import as_of_date, days_before, end_of, start_of

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "EDGE_COLUMNS",
    "LEDGER_COLUMNS",
    "LOOKBACK_DAYS",
    "NIGHT_HOURS",
    "RISK_FEATURES",
    "ROUND_FEN",
    "TRANSFER_CATEGORIES",
    "WINDOWS",
    "EdgeColumns",
    "ledger_from_edges",
    "ledger_from_transactions",
    "read_edge_list",
    "risk_feature_names",
    "risk_features",
    "risk_features_from_ledger",
]

#: Feature windows in days (each ends on the as-of date, both ends inclusive).
WINDOWS = (1, 7, 30)
#: How far back the ledger is read: the 30-day window plus history for "new counterparty" and bursts.
LOOKBACK_DAYS = 90
#: Local hours counted as night (22:00 to 06:00).
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5)
#: An amount is "round" when it is a whole multiple of 1,000 yuan (100,000 fen).
ROUND_FEN = 100_000
#: A burst window: the last 7 days, compared with the 83 days before them.
BURST_DAYS = 7
#: Counterparty categories that are transfers between persons or firms (edges of the transfer graph, and
#: what fan-in/fan-out count), besides any posting whose counterparty holds an account here. Platform
#: categories (utilities, merchants, wealth platforms, payroll agents, ...) are hubs, not peers.
TRANSFER_CATEGORIES = ("p2p", "other")
#: Columns of a ledger, in order.
LEDGER_COLUMNS = (
    "account_id",
    "txn_at",
    "direction",
    "amount_fen",
    "counterparty_id",
    "counterparty_account_id",
    "counterparty_category",
)

# kind | name | 中文名 | English description ({w}: window in days)
_PER_WINDOW = """
count | in_count_{w}d           | 近{w}天入账笔数 | credits, last {w} days
count | out_count_{w}d          | 近{w}天出账笔数 | debits, last {w} days
fen   | in_amount_{w}d_fen      | 近{w}天入账金额 | credits in fen, last {w} days
fen   | out_amount_{w}d_fen     | 近{w}天出账金额 | debits in fen, last {w} days
count | fan_in_{w}d             | 近{w}天转入对手数 | distinct transfer counterparties paying into the account (fan-in), last {w} days
count | fan_out_{w}d            | 近{w}天转出对手数 | distinct transfer counterparties the account paid (fan-out), last {w} days
count | counterparties_{w}d     | 近{w}天转账对手数 | distinct transfer counterparties either way, last {w} days
share | night_share_{w}d        | 近{w}天夜间交易占比 | share of transactions at night (22:00-06:00 local), last {w} days; null without any
share | round_share_{w}d        | 近{w}天整额交易占比 | share of transactions of a whole multiple of 1,000 yuan, last {w} days; null without any
fen   | rapid_out_{w}d_fen      | 近{w}天快进快出金额 | debits in fen made within 24 h after a credit, last {w} days
share | pass_through_share_{w}d | 近{w}天快进快出占比 | least(rapid_out_{w}d_fen, in_amount_{w}d_fen) / in_amount_{w}d_fen: share of money received that left within 24 h of a credit; null without credits
"""
_OTHER = """
days  | tenure_days                   | 开户天数 | days from opening (edge lists: the first transfer seen) to the as-of date
flag  | is_new_account                | 新开户(90天内) | tenure_days <= 90
fen   | daily_flow_30d_fen            | 近30天日均流水 | (in + out amount, last 30 days) / days the account existed in those 30 days: new-account velocity
count | new_counterparties_7d         | 近7天新增转账对手 | transfer counterparties in the last 7 days never seen in the 83 days before
count | new_counterparties_30d        | 近30天新增转账对手 | transfer counterparties in the last 30 days never seen in the 60 days before
share | new_counterparty_share_30d    | 近30天新转账对手占比 | new_counterparties_30d / counterparties_30d; null without counterparties
ratio | out_in_ratio_30d              | 近30天出入比 | out_amount_30d_fen / in_amount_30d_fen; null without credits
fen   | max_amount_30d_fen            | 近30天最大单笔 | largest single transaction in fen, last 30 days
count | active_days_30d               | 近30天交易天数 | days with a transaction, last 30 days
days0 | idle_days_before_7d           | 爆发前静默天数 | days without any transaction before the last 7 days (up to 83; 83 when none in the 90-day lookback)
ratio | burst_ratio_7d                | 近7天交易爆发倍数 | in+out count of the last 7 days / (weekly average over the 83 days before + 1)
count | internal_counterparties_30d   | 近30天本行交易对手数 | distinct counterparties holding an account at this bank, last 30 days
count | cross_county_counterparties_30d | 近30天跨区县对手数 | of those, living in another county than the account holder
share | cross_county_share_30d        | 近30天跨区县对手占比 | cross_county_counterparties_30d / internal_counterparties_30d; null without any (or without counties, as in edge lists)
"""


def _specs() -> tuple[FeatureSpec, ...]:
    lines = [line.replace("{w}", str(w)) for w in WINDOWS for line in _PER_WINDOW.strip().splitlines()]
    lines += _OTHER.strip().splitlines()
    specs = []
    for line in lines:
        kind, name, zh, en = (part.strip() for part in line.split(" | ", 3))
        dtype, unit, default = KINDS[kind]
        specs.append(FeatureSpec(name, "account", dtype, zh, en, unit, default))
    return tuple(specs)


#: The risky-account feature catalog, in table order (the table also has ``account_id`` and ``as_of_date``).
RISK_FEATURES: tuple[FeatureSpec, ...] = _specs()


def risk_feature_names() -> list[str]:
    """Names of the risky-account features, in table order."""
    return [s.name for s in RISK_FEATURES]


# -- inputs -----------------------------------------------------------------------------------------------


def ledger_from_transactions(t: Tables) -> ir.Table:
    """The ledger of the canonical ``transactions`` table (its columns, in ledger order)."""
    return t.transactions.select(*LEDGER_COLUMNS)


@dataclass(frozen=True)
class EdgeColumns:
    """Column names of an edge list and the unit of its amounts (``yuan`` is converted to fen)."""

    from_account: str = "from_account"
    to_account: str = "to_account"
    amount: str = "amount"
    timestamp: str = "timestamp"
    amount_unit: str = "yuan"


#: The default edge-list columns.
EDGE_COLUMNS = EdgeColumns()


def read_edge_list(engine: Engine, path: Path, columns: EdgeColumns = EDGE_COLUMNS) -> ir.Table:
    """Read a transfer edge list (Parquet file or folder, or CSV) as ``from_account, to_account, amount_fen, txn_at``.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    path : Path
        ``.parquet`` file, folder of Parquet parts, or ``.csv`` file with a header.
    columns : EdgeColumns
        Which columns hold the payer, payee, amount and time, and whether amounts are yuan or fen.

    Returns
    -------
    ibis.Table

    Raises
    ------
    YoushuError
        When the file is missing or lacks one of the named columns.
    """
    path = Path(path)
    if not path.exists():
        raise YoushuError(f"edge list {path} does not exist; give a .parquet file or folder or a .csv file")
    con = engine.con
    if path.suffix.lower() == ".csv":
        raw = con.read_csv(str(path))
    else:
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise YoushuError(f"{path} holds no .parquet files")
        raw = con.read_parquet([str(f) for f in files])
    wanted = (columns.from_account, columns.to_account, columns.amount, columns.timestamp)
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise YoushuError(
            f"edge list {path} lacks column(s) {', '.join(missing)} (has: {', '.join(raw.columns)}); "
            "name them with --from-column/--to-column/--amount-column/--time-column"
        )
    if columns.amount_unit not in ("yuan", "fen"):
        raise YoushuError(f"amount unit must be 'yuan' or 'fen', got {columns.amount_unit!r}")
    amount = raw[columns.amount].cast("float64")
    fen = (amount * 100).round() if columns.amount_unit == "yuan" else amount.round()
    at = raw[columns.timestamp]
    at = at if at.type().is_timestamp() else at.cast("timestamp")
    return raw.select(
        from_account=raw[columns.from_account].cast("string"),
        to_account=raw[columns.to_account].cast("string"),
        amount_fen=fen.cast("int64"),
        txn_at=at.cast("timestamp"),
    )


def ledger_from_edges(edges: ir.Table) -> ir.Table:
    """The ledger of an edge list: a debit on the payer and a credit on the payee per edge.

    Every counterparty is an account of the list, so it is also the ``counterparty_account_id``; the category
    is ``p2p``.
    """
    common = {"txn_at": edges.txn_at, "amount_fen": edges.amount_fen}
    out = edges.select(
        account_id=edges.from_account,
        direction=ibis.literal("out"),
        counterparty_id=edges.to_account,
        **common,
    )
    came = edges.select(
        account_id=edges.to_account,
        direction=ibis.literal("in"),
        counterparty_id=edges.from_account,
        **common,
    )
    both = ibis.union(out, came)
    return both.select(
        "account_id",
        "txn_at",
        "direction",
        "amount_fen",
        "counterparty_id",
        counterparty_account_id=both.counterparty_id,
        counterparty_category=ibis.literal("p2p"),
    )


def _accounts_canonical(t: Tables, as_of: date) -> ir.Table:
    a = t.accounts.filter(t.accounts.open_date <= as_of)
    c = t.customers.select("customer_id", "county_id")
    return a.join(c, "customer_id", how="left").select(
        a.account_id, opened_at=a.open_date.cast("date"), county_id=c.county_id
    )


def _accounts_from_ledger(ledger: ir.Table, as_of: date) -> ir.Table:
    seen = ledger.filter(ledger.txn_at < end_of(as_of))
    first = seen.group_by("account_id").aggregate(opened_at=seen.txn_at.min().date())
    return first.mutate(county_id=ibis.null("string"))


# -- features ---------------------------------------------------------------------------------------------


def risk_features(engine: Engine, warehouse: Path, as_of: date) -> ir.Table:
    """Risky-account features of every account opened on or before ``as_of`` (canonical warehouse).

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark.
    warehouse : Path
        The canonical warehouse (``transactions``, ``accounts``, ``customers``).
    as_of : date
        The as-of date: only postings before midnight after it are used.

    Returns
    -------
    ibis.Table
        ``account_id``, ``as_of_date`` and the features of ``RISK_FEATURES`` in order.

    Examples
    --------
    >>> with connect("duckdb") as eng:  # doctest: +SKIP
    ...     df = eng.execute(risk_features(eng, Path("data/warehouse"), date(2025, 9, 30)))
    """
    as_of = as_of_date(as_of)
    t = Tables(engine, Path(warehouse))
    return risk_features_from_ledger(ledger_from_transactions(t), as_of, _accounts_canonical(t, as_of))


def risk_features_from_ledger(ledger: ir.Table, as_of: date, accounts: ir.Table | None = None) -> ir.Table:
    """Risky-account features over any ledger (see the module docstring for its columns).

    Parameters
    ----------
    ledger : ibis.Table
        Postings with the ``LEDGER_COLUMNS``.
    as_of : date
        The as-of date.
    accounts : ibis.Table, optional
        ``account_id, opened_at (date), county_id`` of the accounts to describe; without it, every account
        of the ledger seen by ``as_of``, opened on its first posting, with no county.

    Returns
    -------
    ibis.Table
        One row per account of ``accounts``.
    """
    as_of = as_of_date(as_of)
    missing = [c for c in LEDGER_COLUMNS if c not in ledger.columns]
    if missing:
        raise YoushuError(f"the ledger lacks columns {missing}; expected {list(LEDGER_COLUMNS)}")
    if accounts is None:
        accounts = _accounts_from_ledger(ledger, as_of)
    x = ledger.filter(
        ledger.txn_at >= start_of(days_before(as_of, LOOKBACK_DAYS)), ledger.txn_at < end_of(as_of)
    )
    x = _with_row_flags(x, as_of)
    flows = _flows(x, as_of)
    novelty = _novelty(x, as_of)
    counties = _cross_county(x, accounts, as_of)
    base = accounts.select("account_id", "opened_at").view()
    parts = [p.view() for p in (flows, novelty, counties)]
    joined = base
    for part in parts:
        joined = joined.left_join(part, base.account_id == part.account_id)
    wide = joined.select(
        base.account_id,
        base.opened_at,
        *[part[c] for part in parts for c in part.columns if c != "account_id"],
    )
    return _finish(_derived(wide, as_of), as_of)


def _with_row_flags(x: ir.Table, as_of: date) -> ir.Table:
    secs = x.txn_at.epoch_seconds().cast("int64")
    is_in = x.direction == "in"
    x = x.mutate(
        _secs=secs,
        _in=is_in,
        _out=x.direction == "out",
        _night=x.txn_at.hour().isin(NIGHT_HOURS),
        _round=(x.amount_fen >= ROUND_FEN) & ((x.amount_fen % ROUND_FEN) == 0),
        _in_fen=ibis.ifelse(is_in, x.amount_fen, 0),
        _peer=x.counterparty_id.notnull()
        & (x.counterparty_category.isin(TRANSFER_CATEGORIES) | x.counterparty_account_id.notnull()),
    )
    # Credits in the 24 h up to each posting (a range frame on epoch seconds: the same on both engines).
    last_day = ibis.window(group_by="account_id", order_by="_secs", range=(-86_400, 0))
    x = x.mutate(_in_prev_24h=x._in_fen.sum().over(last_day))
    return x.mutate(_rapid=x._out & (x._in_prev_24h > 0))


def _flows(x: ir.Table, as_of: date) -> ir.Table:
    metrics: dict[str, ir.Scalar] = {}
    for w in WINDOWS:
        within = x.txn_at >= start_of(days_before(as_of, w))
        win_in, win_out = within & x._in, within & x._out
        metrics[f"in_count_{w}d"] = x.count(where=win_in)
        metrics[f"out_count_{w}d"] = x.count(where=win_out)
        metrics[f"in_amount_{w}d_fen"] = x.amount_fen.sum(where=win_in)
        metrics[f"out_amount_{w}d_fen"] = x.amount_fen.sum(where=win_out)
        metrics[f"fan_in_{w}d"] = x.counterparty_id.nunique(where=win_in & x._peer)
        metrics[f"fan_out_{w}d"] = x.counterparty_id.nunique(where=win_out & x._peer)
        metrics[f"counterparties_{w}d"] = x.counterparty_id.nunique(where=within & x._peer)
        metrics[f"_n_{w}d"] = x.count(where=within)
        metrics[f"_night_{w}d"] = x.count(where=within & x._night)
        metrics[f"_round_{w}d"] = x.count(where=within & x._round)
        metrics[f"rapid_out_{w}d_fen"] = x.amount_fen.sum(where=win_out & x._rapid)
    within30 = x.txn_at >= start_of(days_before(as_of, 30))
    burst_start = start_of(days_before(as_of, BURST_DAYS))
    recent = x.txn_at >= burst_start
    return x.group_by("account_id").aggregate(
        max_amount_30d_fen=x.amount_fen.max(where=within30),
        active_days_30d=x.txn_at.date().nunique(where=within30),
        _n_burst=x.count(where=recent),
        _n_before_burst=x.count(where=~recent),
        _last_before_burst=x.txn_at.max(where=~recent),
        **metrics,
    )


def _novelty(x: ir.Table, as_of: date) -> ir.Table:
    """New counterparties: first seen (within the lookback) in the last 7 or 30 days."""
    pairs = x.filter(x._peer)
    first = pairs.group_by(["account_id", "counterparty_id"]).aggregate(first_at=pairs.txn_at.min())
    return first.group_by("account_id").aggregate(
        new_counterparties_7d=first.count(where=first.first_at >= start_of(days_before(as_of, 7))),
        new_counterparties_30d=first.count(where=first.first_at >= start_of(days_before(as_of, 30))),
    )


def _cross_county(x: ir.Table, accounts: ir.Table, as_of: date) -> ir.Table:
    """Distinct internal counterparties in the last 30 days, and how many live in another county."""
    recent = x.filter(x.counterparty_account_id.notnull() & (x.txn_at >= start_of(days_before(as_of, 30))))
    pairs = recent.select("account_id", "counterparty_account_id").distinct()
    mine = accounts.select(account_id="account_id", own_county="county_id")
    theirs = accounts.select(counterparty_account_id="account_id", their_county="county_id")
    joined = pairs.left_join(mine, "account_id").left_join(theirs, "counterparty_account_id")
    differ = joined.own_county.notnull() & joined.their_county.notnull()
    differ = differ & (joined.own_county != joined.their_county)
    known = joined.own_county.notnull() & joined.their_county.notnull()
    return joined.group_by("account_id").aggregate(
        internal_counterparties_30d=joined.count(),
        cross_county_counterparties_30d=joined.count(where=differ),
        _county_known=joined.count(where=known),
    )


def _derived(w: ir.Table, as_of: date) -> ir.Table:
    zero = ibis.literal(0, type="int64")
    derived: dict[str, ir.Value] = {}
    for d in WINDOWS:
        n = w[f"_n_{d}d"].fill_null(zero)
        received = w[f"in_amount_{d}d_fen"].fill_null(zero)
        rapid = w[f"rapid_out_{d}d_fen"].fill_null(zero)
        derived[f"night_share_{d}d"] = safe_divide(w[f"_night_{d}d"].fill_null(zero), n)
        derived[f"round_share_{d}d"] = safe_divide(w[f"_round_{d}d"].fill_null(zero), n)
        derived[f"pass_through_share_{d}d"] = safe_divide(ibis.least(rapid, received), received)
    tenure = ibis.literal(as_of, type="date").delta(w.opened_at, unit="day")
    flow30 = w.in_amount_30d_fen.fill_null(zero) + w.out_amount_30d_fen.fill_null(zero)
    existed = ibis.least(tenure + 1, 30).clip(lower=1)
    before = w._n_before_burst.fill_null(zero)
    idle_cap = LOOKBACK_DAYS - BURST_DAYS
    idle = ibis.literal(days_before(as_of, BURST_DAYS), type="date").delta(
        w._last_before_burst.date(), unit="day"
    )
    return w.mutate(
        tenure_days=tenure,
        is_new_account=tenure <= 90,
        daily_flow_30d_fen=(flow30 / existed).round().cast("int64"),
        new_counterparty_share_30d=safe_divide(
            w.new_counterparties_30d.fill_null(zero), w.counterparties_30d.fill_null(zero)
        ),
        out_in_ratio_30d=safe_divide(
            w.out_amount_30d_fen.fill_null(zero), w.in_amount_30d_fen.fill_null(zero)
        ),
        idle_days_before_7d=ibis.ifelse(before > 0, (idle - 1).clip(lower=0), idle_cap),
        burst_ratio_7d=w._n_burst.fill_null(zero) / (before * BURST_DAYS / idle_cap + 1.0),
        cross_county_share_30d=safe_divide(
            w.cross_county_counterparties_30d.fill_null(zero), w._county_known
        ),
        **derived,
    )


def _finish(table: ir.Table, as_of: date) -> ir.Table:
    columns: list[ir.Value] = [table.account_id, ibis.literal(as_of, type="date").name("as_of_date")]
    for spec in RISK_FEATURES:
        value = table[spec.name].cast(IBIS_TYPES[spec.dtype])
        if spec.default is not None:
            value = value.fill_null(spec.default)
        columns.append(value.name(spec.name))
    return table.select(*columns)
