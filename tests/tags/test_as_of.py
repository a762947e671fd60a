"""Tags as of a date use nothing after it: a later extract of the same bank gives the very same tag tables.

The later extract is the province plus rows dated after the as-of date in every table with an event time
(``append_later_rows`` of the feature tests, and here the marketing tables, products, merchants signed
later, accounts closed later and instalments paid later). The converse shows the test can fail: the same
kind of change made on the as-of date itself changes the tags it should.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from features.conftest import AS_OF, append_later_rows
from youshu.engine import Engine, connect
from youshu.features import compute_features, feature_schema
from youshu.schema.spec import Role
from youshu.schema.storage import TRUTH_DIR, parquet_files, read_table, write_part
from youshu.schema.tables import TABLES, get_table
from youshu.synth import generate
from youshu.tags import ENTITIES, TagSet, apply, load_definitions

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
CUSTOMERS = 3000
NEXT_DAY = AS_OF + timedelta(days=1)
MIDNIGHT_AFTER = datetime.combine(NEXT_DAY, time())
LAST_SECOND = MIDNIGHT_AFTER - timedelta(seconds=1)  # still on the as-of date

Tags = dict[tuple[str, str], pa.Table]


# -- warehouse edits ----------------------------------------------------------------------------------------


def read(warehouse: Path, name: str) -> pd.DataFrame:
    return read_table(warehouse, get_table(name)).to_pandas()


def append(warehouse: Path, name: str, frame: pd.DataFrame) -> None:
    """Add ``frame`` to the table as a new Parquet part (a later load)."""
    spec = get_table(name)
    table = pa.Table.from_pandas(frame[spec.column_names], preserve_index=False)
    write_part(warehouse / name, len(parquet_files(warehouse / name)), table, spec)


def rewrite(warehouse: Path, name: str, frame: pd.DataFrame) -> None:
    """Replace the table by ``frame`` (rows of the first extract updated by a later one)."""
    spec = get_table(name)
    for part in parquet_files(warehouse / name):
        part.unlink()
    write_part(
        warehouse / name, 0, pa.Table.from_pandas(frame[spec.column_names], preserve_index=False), spec
    )


def renumbered(frame: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    out = frame.copy()
    out[column] = [f"{prefix}{i:06d}" for i in range(len(out))]
    return out


def append_later_extract(warehouse: Path, as_of: date) -> None:
    """What else a later extract holds beyond ``append_later_rows``: the rest of the event tables.

    Coupon redemptions at every acquired merchant, coupons, campaigns, campaign members and referrals
    dated after ``as_of``; a product launched later; prospects signed for acquiring later (with QR
    payments afterwards); accounts closed later; instalments overdue on ``as_of`` and paid later; a risk case
    reported later.
    """
    next_day = as_of + timedelta(days=1)
    midnight = datetime.combine(next_day, time())
    merchants = read(warehouse, "merchants")
    acquired = merchants[merchants.is_acquired.fillna(False)]

    coupons = renumbered(read(warehouse, "coupons").head(len(acquired)), "coupon_id", "CPLATER")
    coupons["merchant_id"] = acquired.merchant_id.to_numpy()[: len(coupons)]
    coupons["issued_date"] = next_day
    append(warehouse, "coupons", coupons)
    redemptions = pd.DataFrame(
        {
            "redemption_id": [f"RLATER{i:06d}" for i in range(2 * len(coupons))],
            "coupon_id": list(coupons.coupon_id) * 2,
            "merchant_id": list(coupons.merchant_id) * 2,
            "redeemed_at": [midnight] * len(coupons) + [midnight + timedelta(days=20)] * len(coupons),
        }
    )
    append(warehouse, "redemptions", redemptions)
    campaigns = renumbered(read(warehouse, "campaigns").head(1), "campaign_id", "CMPLATER")
    campaigns["start_date"] = next_day
    campaigns["end_date"] = next_day + timedelta(days=60)
    append(warehouse, "campaigns", campaigns)
    members = read(warehouse, "campaign_members").head(20).copy()
    members["campaign_id"] = campaigns.campaign_id.iloc[0]
    members["assigned_date"] = next_day
    append(warehouse, "campaign_members", members)
    referrals = renumbered(read(warehouse, "referrals").head(20), "referral_id", "RFLATER")
    referrals["referral_date"] = next_day
    append(warehouse, "referrals", referrals)

    products = read(warehouse, "products")
    new_product = renumbered(products[products.category == "wealth"].head(1), "product_id", "PLATER")
    new_product["launch_date"] = next_day
    append(warehouse, "products", new_product)
    buyers = read(warehouse, "customers").customer_id.head(20)
    purchases = renumbered(read(warehouse, "purchases").head(len(buyers)), "purchase_id", "PURLATER")
    purchases["customer_id"] = buyers.to_numpy()[: len(purchases)]
    purchases["product_id"] = new_product.product_id.iloc[0]
    purchases["purchase_date"] = next_day
    append(warehouse, "purchases", purchases)

    # Prospects signed after the as-of date: the later extract shows them acquired, with takings after it.
    prospects = merchants.index[~merchants.is_acquired.fillna(False)][:5]
    outlet = read(warehouse, "outlets").outlet_id.iloc[0]
    accounts = read(warehouse, "accounts")
    merchants.loc[prospects, "is_acquired"] = True
    merchants.loc[prospects, "onboard_date"] = next_day
    merchants.loc[prospects, "acquiring_outlet_id"] = outlet
    merchants.loc[prospects, "settlement_account_id"] = accounts.account_id.iloc[: len(prospects)].to_numpy()
    rewrite(warehouse, "merchants", merchants)
    payments = read(warehouse, "acquiring_transactions").head(10 * len(prospects))
    payments = renumbered(payments, "acq_txn_id", "QSIGNED")
    payments["merchant_id"] = list(merchants.loc[prospects, "merchant_id"]) * 10
    payments["paid_at"] = midnight + timedelta(hours=9)
    append(warehouse, "acquiring_transactions", payments)

    still_open = accounts.close_date.isna() & (accounts.open_date <= as_of)
    closing = accounts.index[still_open][::10]
    accounts.loc[closing, "close_date"] = as_of + timedelta(days=15)
    accounts.loc[closing, "status"] = "closed"
    rewrite(warehouse, "accounts", accounts)

    repayments = read(warehouse, "loan_repayments")
    overdue = (repayments.due_date < as_of) & repayments.paid_date.isna()
    assert overdue.any(), "the province needs instalments overdue on the as-of date"
    repayments.loc[overdue, "paid_date"] = as_of + timedelta(days=3)
    repayments.loc[overdue, "amount_paid_fen"] = repayments.loc[overdue, "amount_due_fen"]
    rewrite(warehouse, "loan_repayments", repayments)

    # A confirmed case reported the day after (labels of the risk model; no tag reads them).
    case = pd.DataFrame(
        {
            "account_id": accounts.account_id.iloc[:1].to_numpy(),
            "reported_on": [next_day],
            "active_from": [as_of - timedelta(days=40)],
            "active_to": [as_of - timedelta(days=10)],
            "source": ["police_notice"],
        }
    )
    append(warehouse, "risk_cases", case)


def events_after(warehouse: Path, as_of: date) -> dict[str, int]:
    """Per ``table.column`` with an event time: rows dated after ``as_of``."""
    midnight = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time()))
    counts = {}
    for spec in TABLES:
        for column in (c.name for c in spec.columns if c.role == Role.EVENT_TIME):
            at = pd.to_datetime(read(warehouse, spec.name)[column])
            counts[f"{spec.name}.{column}"] = int((at >= midnight).sum())
    return counts


# -- tags ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ENTITIES})


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province") / "warehouse"
    generate(out, customers=CUSTOMERS, seed=5, workers=1)
    return out


def copy_of(province: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    out = tmp_path_factory.mktemp(name) / "warehouse"
    shutil.copytree(province, out, ignore=shutil.ignore_patterns(TRUTH_DIR))
    return out


@pytest.fixture(scope="module")
def later_province(province: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = copy_of(province, tmp_path_factory, "later")
    append_later_rows(out, AS_OF)
    append_later_extract(out, AS_OF)
    return out


def tags_of(engine: Engine, tagset: TagSet, warehouse: Path, out: Path, as_of: date = AS_OF) -> Tags:
    """Every entity's wide and long tags as of ``as_of``, as ``apply`` writes them, sorted by id."""
    result: Tags = {}
    for entity in ENTITIES:
        features = compute_features(engine, warehouse, entity, as_of)
        applied = apply(engine, tagset, features, entity, as_of, out, check_tests=False)
        key = f"{entity}_id"
        wide = ds.dataset(applied.wide_dir, format="parquet").to_table()
        long = ds.dataset(applied.long_dir, format="parquet").to_table()
        result[(entity, "wide")] = wide.sort_by(key)
        result[(entity, "long")] = long.sort_by([(key, "ascending"), ("tag_id", "ascending")])
    return result


@pytest.fixture(scope="module")
def tags(duck: Engine, tagset: TagSet, province: Path, tmp_path_factory: pytest.TempPathFactory) -> Tags:
    return tags_of(duck, tagset, province, tmp_path_factory.mktemp("tags"))


def changed_cells(before: pa.Table, after: pa.Table) -> dict[str, list[str]]:
    """Per tag column, the ids whose value differs (rows matched by id; both tables hold the same ids)."""
    key = before.column_names[0]
    assert before[key].equals(after[key])
    changed = {}
    for name in before.column_names[2:]:
        a, b = before[name], after[name]
        same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
        ids = pc.filter(before[key], pc.invert(same)).to_pylist()
        if ids:
            changed[name] = ids
    return changed


def test_the_later_extract_adds_events_after_the_as_of_date_to_every_event_table(
    province: Path, later_province: Path
) -> None:
    before, after = events_after(province, AS_OF), events_after(later_province, AS_OF)
    assert [c for c in after if after[c] <= before[c]] == []


def test_rows_after_the_as_of_date_change_no_tag(
    duck: Engine, tagset: TagSet, tags: Tags, later_province: Path, tmp_path: Path
) -> None:
    later = tags_of(duck, tagset, later_province, tmp_path)
    for (entity, form), table in tags.items():
        other = later[(entity, form)]
        assert other.num_rows == table.num_rows, (entity, form)
        if form == "wide":
            assert changed_cells(table, other) == {}, entity
        assert other.equals(table), (entity, form)


def test_the_later_rows_count_once_the_as_of_date_reaches_them(
    duck: Engine, tagset: TagSet, province: Path, later_province: Path, tmp_path: Path
) -> None:
    # Guards the test above: the later rows are data the features read, not rows they cannot see.
    later_day = AS_OF + timedelta(days=60)
    first = tags_of(duck, tagset, province, tmp_path / "first", later_day)
    second = tags_of(duck, tagset, later_province, tmp_path / "second", later_day)
    for entity in ENTITIES:
        a, b = first[(entity, "wide")], second[(entity, "wide")]
        shared = pc.is_in(b[f"{entity}_id"], a[f"{entity}_id"])
        assert len(changed_cells(a, b.filter(shared))) >= 5, entity


def test_a_change_on_the_as_of_date_changes_the_tags_it_should(
    duck: Engine,
    tagset: TagSet,
    tags: Tags,
    province: Path,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    wide = tags[("customer", "wide")].to_pandas().set_index("customer_id")
    merchants = tags[("merchant", "wide")].to_pandas().set_index("merchant_id")
    warehouse = copy_of(province, tmp_path_factory, "on_the_day")
    accounts = read(warehouse, "accounts")
    accounts = accounts[accounts.open_date <= AS_OF]

    # A first payroll credit in the last second of the as-of date.
    payee = wide.index[~wide.payroll_customer & wide.index.isin(accounts.customer_id)][0]
    txn = read(warehouse, "transactions").head(1).copy()
    txn["txn_id"] = "ONDAY000001"
    txn["account_id"] = accounts.account_id[accounts.customer_id == payee].iloc[0]
    txn[["txn_at", "direction", "counterparty_category", "amount_fen"]] = [
        LAST_SECOND,
        "in",
        "payroll",
        800_000,
    ]
    append(warehouse, "transactions", txn)

    # Ten million yuan more on deposit at the as-of month end.
    balances = read(warehouse, "balances")
    at_month_end = pd.to_datetime(balances.month_end_date) == pd.Timestamp(AS_OF)
    rich = wide.index[~wide.high_aum_customer & wide.index.isin(accounts.customer_id)]
    held = balances.account_id.isin(accounts.account_id[accounts.customer_id.isin(rich)])
    row = balances.index[at_month_end & held][0]
    made_rich = accounts.customer_id[accounts.account_id == balances.at[row, "account_id"]].iloc[0]
    balances.loc[row, "balance_fen"] += 1_000_000_000
    rewrite(warehouse, "balances", balances)

    # A coupon redeemed at an acquired merchant on the as-of date.
    partner = merchants.index[merchants.acquired_merchant & ~merchants.alliance_partner][0]
    redemption = read(warehouse, "redemptions").head(1).copy()
    redemption[["redemption_id", "merchant_id", "redeemed_at"]] = ["RONDAY0001", partner, LAST_SECOND]
    append(warehouse, "redemptions", redemption)

    # A customer onboarded on the as-of date.
    newcomer = read(warehouse, "customers").head(1).copy()
    newcomer[["customer_id", "onboard_date"]] = ["CONDAY0001", AS_OF]
    append(warehouse, "customers", newcomer)

    after = tags_of(duck, tagset, warehouse, tmp_path)
    new_wide = after[("customer", "wide")].to_pandas().set_index("customer_id")
    new_merchants = after[("merchant", "wide")].to_pandas().set_index("merchant_id")
    assert bool(new_wide.at[payee, "payroll_customer"])
    assert bool(new_wide.at[made_rich, "high_aum_customer"])
    assert bool(new_merchants.at[partner, "alliance_partner"])
    assert set(new_wide.index) - set(wide.index) == {"CONDAY0001"}
    assert bool(new_wide.at["CONDAY0001", "new_customer"])
    before = tags[("customer", "wide")]
    kept = after[("customer", "wide")].filter(
        pc.is_in(after[("customer", "wide")]["customer_id"], before["customer_id"])
    )
    changed = changed_cells(before, kept)
    assert {"payroll_customer", "high_aum_customer"} <= set(changed)
    assert {c for ids in changed.values() for c in ids} == {payee, made_rich}
