"""The synthetic province: canonical, consistent, deterministic, and its planted truth shows in observed data.

These tests check the generator itself, so they may read the truth folder; model tests never do.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from youshu.errors import YoushuError
from youshu.schema.storage import parquet_files
from youshu.schema.tables import TABLES
from youshu.synth import generate
from youshu.synth.flows import HARVEST

SMALL = {"customers": 3000, "seed": 11, "chunk_size": 1500}


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "province"
    generate(out, workers=1, **SMALL)  # type: ignore[arg-type]
    return out


def _q(province: Path, sql: str) -> list[tuple]:
    con = duckdb.connect()
    for spec in TABLES:
        con.execute(
            f"create view {spec.name} as select * from read_parquet('{province / spec.name}/*.parquet')"
        )
    for name in ("customers", "risky_accounts", "merchants"):
        con.execute(
            f"create view truth_{name} as select * from read_parquet('{province}/truth/{name}/*.parquet')"
        )
    return con.execute(sql).fetchall()


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for spec in TABLES:
        table = pq.ParquetDataset(parquet_files(folder / spec.name)).read()
        out[spec.name] = hashlib.sha256(str(table.to_pydict()).encode()).hexdigest()
    return out


def test_every_canonical_table_is_written_with_its_canonical_schema(province: Path) -> None:
    for spec in TABLES:
        files = parquet_files(province / spec.name)
        assert files, f"{spec.name} missing"
        schema = pq.read_schema(files[0])
        assert schema.names == spec.column_names
        assert [f.type for f in schema] == [c.arrow_type for c in spec.columns], spec.name


def test_primary_keys_are_unique_and_foreign_keys_resolve(province: Path) -> None:
    for spec in TABLES:
        keys = ", ".join(spec.primary_key)
        dup = _q(
            province,
            f"select count(*) from (select {keys} from {spec.name} group by all having count(*) > 1)",
        )
        assert dup[0][0] == 0, f"duplicate keys in {spec.name}"
        for column in spec.columns:
            if column.references is None:
                continue
            ref_table, ref_col = column.references
            dangling = _q(
                province,
                f"select count(*) from {spec.name} t where t.{column.name} is not null and "
                f"not exists (select 1 from {ref_table} r where r.{ref_col} = t.{column.name})",
            )
            assert dangling[0][0] == 0, f"{spec.name}.{column.name} -> {ref_table}.{ref_col} dangles"


def test_required_columns_have_no_nulls_and_money_is_non_negative(province: Path) -> None:
    for spec in TABLES:
        for column in spec.columns:
            if column.required:
                nulls = _q(province, f"select count(*) from {spec.name} where {column.name} is null")[0][0]
                assert nulls == 0, f"{spec.name}.{column.name} has nulls"
            if column.min_value is not None:
                low = _q(
                    province, f"select count(*) from {spec.name} where {column.name} < {column.min_value}"
                )
                assert low[0][0] == 0, f"{spec.name}.{column.name} below {column.min_value}"


def test_same_seed_gives_identical_tables_whatever_the_number_of_workers(
    province: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate(again, workers=2, **SMALL)  # type: ignore[arg-type]
    assert _digest(again) == _digest(province)


def test_another_seed_gives_another_province(province: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, workers=1, **{**SMALL, "seed": 12})  # type: ignore[arg-type]
    assert _digest(other)["customers"] != _digest(province)["customers"]


def test_truth_is_kept_apart_from_observed_tables(province: Path) -> None:
    truth = province / "truth"
    assert (truth / "meta.json").exists()
    for name in ("customers", "risky_accounts", "merchants", "county_specialties", "campaign_effects"):
        assert parquet_files(truth / name), name
    latent_columns = {"intimacy", "lifecycle_stage", "wealth_propensity_90d", "chain_stage", "typology"}
    for spec in TABLES:
        assert not latent_columns & set(spec.column_names), spec.name


@pytest.mark.parametrize("customers", [999, 16_000_001])
def test_out_of_range_size_is_refused_and_nothing_is_written(tmp_path: Path, customers: int) -> None:
    with pytest.raises(YoushuError, match="--customers must be between"):
        generate(tmp_path / "p", customers=customers)
    assert list(tmp_path.iterdir()) == []


def test_too_short_a_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(YoushuError, match="at least 15"):
        generate(tmp_path / "p", customers=1000, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))


def test_risky_accounts_are_rare_and_of_known_typologies(province: Path) -> None:
    ((risky, customers),) = _q(
        province,
        "select (select count(distinct account_id) from truth_risky_accounts), "
        "(select count(*) from customers)",
    )
    assert 0.001 <= risky / customers <= 0.02
    typologies = {row[0] for row in _q(province, "select distinct typology from truth_risky_accounts")}
    assert typologies <= {"fan_in", "fan_out", "cycle", "pass_through", "scatter_gather"}
    assert len(typologies) >= 3


def test_wealth_appetite_shows_in_outflows_to_other_banks_wealth_platforms(province: Path) -> None:
    rows = _q(
        province,
        """
        with t as (select c.customer_id, ntile(4) over (order by wealth_affinity * (1 - bank_share)) q
                   from truth_customers c),
             o as (select a.customer_id, count(*) n from transactions x join accounts a using (account_id)
                   where counterparty_category = 'other_bank_wealth' and direction = 'out' group by 1)
        select q, avg(coalesce(n, 0)) from t left join o using (customer_id) group by q order by q""",
    )
    assert rows[-1][1] > 3 * rows[0][1]


def test_chain_producers_are_paid_by_buyers_at_harvest(province: Path) -> None:
    rows = _q(
        province,
        """
        select t.chain_industry, month(txn_at) from transactions x
        join accounts a using (account_id) join truth_customers t using (customer_id)
        where t.chain_stage = 'production' and x.counterparty_category = 'agri_buyer'
          and x.counterparty_industry = t.chain_industry and t.chain_industry not in ('pig', 'mushroom')""",
    )
    assert len(rows) > 50, "too few producer payments to judge seasonality"
    in_harvest = sum(month in HARVEST[industry] for industry, month in rows) / len(rows)
    # Harvests span 2-3 months of 12, yet carry most of the buyers' payments.
    assert in_harvest > 0.6


def test_dormant_customers_go_quiet_before_the_truth_date(province: Path) -> None:
    rows = dict(
        _q(
            province,
            """
        select t.lifecycle_stage, count(x.txn_id) / count(distinct t.customer_id) from truth_customers t
        join accounts a using (customer_id)
        left join transactions x on x.account_id = a.account_id
             and x.txn_at between t.truth_as_of_date - interval 90 day and t.truth_as_of_date
        group by 1""",
        )
    )
    assert rows["dormant"] < 0.2 * rows["mature"]


def test_breakfast_alliance_campaign_has_a_randomized_control_group(province: Path) -> None:
    ((name, members, control, control_coupons, food_partners),) = _q(
        province,
        """
        select c.campaign_name,
               (select count(*) from campaign_members m where m.campaign_id = 'CMP001'),
               (select count(*) from campaign_members m where m.campaign_id = 'CMP001' and is_control),
               (select count(*) from coupons k join campaign_members m using (campaign_id, customer_id)
                 where k.campaign_id = 'CMP001' and m.is_control),
               (select count(*) from coupons k join merchants x using (merchant_id)
                 where k.campaign_id = 'CMP001' and x.category = 'food')
        from campaigns c where c.campaign_id = 'CMP001'""",
    )
    assert "早餐" in name
    assert 0.1 < control / members < 0.3
    assert control_coupons == 0
    assert food_partners > 0


def test_id_card_numbers_carry_a_valid_check_digit(province: Path) -> None:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for (number,) in _q(province, "select id_card_no from customers limit 200"):
        total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
        assert "10X98765432"[total % 11] == number[17]


def test_a_generated_province_passes_validation_as_of_its_last_day(province: Path) -> None:
    from youshu.schema.validate import validate_warehouse

    report = validate_warehouse(province, as_of=date(2025, 12, 31))
    assert report.ok, report.to_text()
    assert report.tables["customers"] == SMALL["customers"]
