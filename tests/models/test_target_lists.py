"""Capacity-aware target lists: capacity per outlet, dedupe across campaigns, exclusions counted, masked output."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from youshu.errors import YoushuError
from youshu.models.target_inputs import declined_recently, outlet_capacity, read_id_file, read_risky
from youshu.models.target_lists import (
    EXCLUSION_REASONS,
    Exclusions,
    ScoredCampaign,
    build_target_lists,
    select_targets,
    summary_path,
    write_target_lists,
)
from youshu.schema.storage import write_part
from youshu.schema.tables import TABLES_BY_NAME

AS_OF = date(2025, 9, 30)


def homes(mapping: dict[str, str | None]) -> pa.Table:
    return pa.table(
        {"customer_id": list(mapping), "outlet_id": pa.array(list(mapping.values()), pa.string())}
    )


def scores(pairs: dict[str, float], reasons: bool = True) -> pa.Table:
    cols: dict[str, list] = {"customer_id": list(pairs), "score": list(pairs.values())}
    if reasons:
        cols["reasons"] = [f"理由{c}" for c in pairs]
    return pa.table(cols)


def capacity(caps: dict[str, int]) -> pa.Table:
    return pa.table({"outlet_id": list(caps), "capacity": list(caps.values())})


HOMES = homes({f"c{i}": "O1" if i <= 5 else "O2" for i in range(1, 9)})
WEALTH = scores({"c1": 0.9, "c2": 0.8, "c3": 0.3, "c4": 0.2, "c5": 0.1, "c6": 0.7, "c7": 0.6, "c8": 0.5})
INSURANCE = scores({"c3": 0.95, "c4": 0.15, "c6": 0.2})


def listed(result, outlet: str | None = None) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = result.lists.to_pylist()
    return [(r["customer_id"], r["campaign"]) for r in rows if outlet is None or r["outlet_id"] == outlet]


def test_each_outlet_gets_its_top_customers_up_to_its_capacity() -> None:
    result = select_targets([ScoredCampaign("wealth", WEALTH)], HOMES, capacity({"O1": 2, "O2": 1}))
    assert listed(result, "O1") == [("c1", "wealth"), ("c2", "wealth")]
    assert listed(result, "O2") == [("c6", "wealth")]
    assert result.lists.column("rank_in_outlet").to_pylist() == [1, 2, 1]
    summary = {r["outlet_id"]: r for r in result.summary.to_pylist()}
    assert (summary["O1"]["candidates"], summary["O1"]["selected"], summary["O1"]["over_capacity"]) == (
        5,
        2,
        3,
    )
    assert (summary["O2"]["capacity"], summary["O2"]["selected"]) == (1, 1)


def test_a_customer_goes_to_the_campaign_with_the_higher_score_only() -> None:
    campaigns = [ScoredCampaign("wealth", WEALTH), ScoredCampaign("insurance", INSURANCE, zh="她经济保险")]
    result = select_targets(campaigns, HOMES, capacity({"O1": 5, "O2": 5}))
    rows = {r["customer_id"]: r for r in result.lists.to_pylist()}
    assert len(rows) == result.lists.num_rows == 8  # each customer once
    assert (rows["c3"]["campaign"], rows["c3"]["campaign_zh"], rows["c3"]["score"]) == (
        "insurance",
        "她经济保险",
        0.95,
    )
    assert rows["c3"]["reasons"] == "理由c3"
    assert (rows["c4"]["campaign"], rows["c4"]["score"]) == ("wealth", 0.2)
    assert rows["c6"]["campaign"] == "wealth"
    # the insurance pick of c3 outranks the wealth customers in O1
    assert listed(result, "O1")[0] == ("c3", "insurance")


def test_values_per_conversion_turn_the_rule_into_expected_value() -> None:
    campaigns = [
        ScoredCampaign("wealth", WEALTH, value_fen=100.0),
        ScoredCampaign("insurance", INSURANCE, value_fen=1000.0),
    ]
    result = select_targets(campaigns, HOMES, capacity({"O1": 5, "O2": 5}))
    rows = {r["customer_id"]: r for r in result.lists.to_pylist()}
    assert rows["c4"]["campaign"] == "insurance"  # 0.15 x 1000 > 0.2 x 100
    assert rows["c6"]["campaign"] == "insurance"  # 0.2 x 1000 > 0.7 x 100
    assert rows["c6"]["expected_value_fen"] == pytest.approx(200.0)


def test_ties_go_to_the_smaller_customer_id_and_the_first_campaign_name() -> None:
    tied = scores({"c5": 0.5, "c2": 0.5, "c4": 0.5, "c1": 0.5})
    result = select_targets(
        [ScoredCampaign("zeta", tied), ScoredCampaign("alpha", tied)], HOMES, capacity({"O1": 2, "O2": 0})
    )
    assert listed(result) == [("c1", "alpha"), ("c2", "alpha")]


@pytest.mark.parametrize("reason", ["opted_out", "risky_account", "declined_recently"])
def test_each_customer_level_exclusion_removes_and_counts(reason: str) -> None:
    exclusions = Exclusions(**{reason: ["c1", "c6", "nobody"]})
    result = select_targets(
        [ScoredCampaign("wealth", WEALTH)], HOMES, capacity({"O1": 2, "O2": 1}), exclusions
    )
    assert listed(result) == [("c2", "wealth"), ("c3", "wealth"), ("c7", "wealth")]
    assert result.excluded[reason] == 2
    assert sum(result.excluded.values()) == 2
    summary = {r["outlet_id"]: r for r in result.summary.to_pylist()}
    assert summary["O1"][f"excluded_{reason}"] == 1 and summary["O2"][f"excluded_{reason}"] == 1


def test_a_customer_is_counted_once_under_the_first_reason() -> None:
    exclusions = Exclusions(opted_out=["c1"], risky_account=["c1", "c2"], declined_recently=["c2"])
    result = select_targets(
        [ScoredCampaign("wealth", WEALTH)], HOMES, capacity({"O1": 5, "O2": 5}), exclusions
    )
    assert (result.excluded["opted_out"], result.excluded["risky_account"]) == (1, 1)
    assert result.excluded["declined_recently"] == 0


def test_recently_contacted_leaves_the_other_campaign_open() -> None:
    campaigns = [ScoredCampaign("wealth", WEALTH), ScoredCampaign("insurance", INSURANCE)]
    exclusions = Exclusions(contacted_recently={"insurance": ["c3"], "wealth": ["c1", "c6"]})
    result = select_targets(campaigns, HOMES, capacity({"O1": 5, "O2": 5}), exclusions)
    rows = {r["customer_id"]: r["campaign"] for r in result.lists.to_pylist()}
    assert rows["c3"] == "wealth"  # insurance was off for c3, wealth still fits
    assert rows["c6"] == "insurance"
    assert "c1" not in rows
    assert result.excluded["contacted_recently"] == 1  # only c1 lost every campaign


def test_customers_without_a_home_outlet_are_counted() -> None:
    table = homes({"c1": "O1", "c2": None})
    result = select_targets(
        [ScoredCampaign("wealth", scores({"c1": 0.1, "c2": 0.2, "ghost": 0.3}))], table, capacity({"O1": 5})
    )
    assert listed(result) == [("c1", "wealth")]
    assert result.excluded["no_home_outlet"] == 2


def test_the_summary_adds_up_and_lists_outlets_without_customers() -> None:
    exclusions = Exclusions(opted_out=["c2"], risky_account=["c7"])
    result = select_targets(
        [ScoredCampaign("wealth", WEALTH), ScoredCampaign("insurance", INSURANCE)],
        HOMES,
        capacity({"O1": 2, "O2": 1, "O3": 4}),
        exclusions,
    )
    for row in result.summary.to_pylist():
        excluded = sum(row[f"excluded_{r}"] for r in EXCLUSION_REASONS if r != "no_home_outlet")
        assert row["candidates"] == row["selected"] + excluded + row["over_capacity"]
    assert result.summary.column("outlet_id").to_pylist() == ["O1", "O2", "O3"]
    assert result.summary.to_pylist()[2]["candidates"] == 0


def _reference(frame: pd.DataFrame, caps: dict[str, int]) -> list[tuple[str, str]]:
    """A plain pandas version of the rule: best campaign per customer, then sort and cut per outlet."""
    best = frame.sort_values(["customer_id", "score", "campaign"], ascending=[True, False, True])
    best = best.drop_duplicates("customer_id")
    best = best.sort_values(["outlet_id", "score", "customer_id"], ascending=[True, False, True])
    best["rank"] = best.groupby("outlet_id").cumcount() + 1
    best = best[best["rank"] <= best["outlet_id"].map(caps)]
    return list(zip(best["customer_id"], best["campaign"], strict=True))


def test_large_random_selection_matches_a_plain_sort_and_ignores_row_order() -> None:
    rng = np.random.default_rng(5)
    n, outlets = 6000, 40
    ids = [f"k{i:05d}" for i in rng.permutation(n)]
    home = pa.table({"customer_id": ids, "outlet_id": [f"O{i:02d}" for i in rng.integers(0, outlets, n)]})
    caps = {f"O{i:02d}": int(c) for i, c in enumerate(rng.integers(0, 30, outlets))}
    # rounded scores: many ties, across customers and campaigns
    a = pa.table({"customer_id": ids, "score": np.round(rng.random(n), 2)})
    b = pa.table({"customer_id": ids[: n // 2], "score": np.round(rng.random(n // 2), 2)})
    result = select_targets([ScoredCampaign("a", a), ScoredCampaign("b", b)], home, capacity(caps))
    frame = pd.concat([a.to_pandas().assign(campaign="a"), b.to_pandas().assign(campaign="b")])
    frame = frame.merge(home.to_pandas(), on="customer_id")
    assert listed(result) == _reference(frame, caps)
    # the same inputs in another row order (the hash-join path) give the same lists
    shuffled = [t.take(pa.array(rng.permutation(t.num_rows))) for t in (home, a, b)]
    again = select_targets(
        [ScoredCampaign("b", shuffled[2]), ScoredCampaign("a", shuffled[1])], shuffled[0], capacity(caps)
    )
    assert again.lists.equals(result.lists)
    assert again.summary.equals(result.summary)


@pytest.mark.parametrize(
    ("campaign", "home", "caps", "message"),
    [
        (pa.table({"customer_id": ["c1"]}), HOMES, None, "campaign 'wealth' scores has no column 'score'"),
        (pa.table({"customer_id": ["c1"], "score": ["high"]}), HOMES, None, "column 'score' must be number"),
        (pa.table({"customer_id": ["c1"], "score": [float("nan")]}), HOMES, None, "'score' must be finite"),
        (pa.table({"customer_id": ["c1", "c1"], "score": [0.1, 0.2]}), HOMES, None, "'c1' more than once"),
        (pa.table({"customer_id": [1], "score": [0.1]}), HOMES, None, "'customer_id' must be string"),
        (WEALTH, pa.table({"customer_id": ["c1"]}), None, "homes has no column 'outlet_id'"),
        (WEALTH, HOMES, pa.table({"outlet_id": ["O1"], "cap": [1]}), "capacity has no column 'capacity'"),
        (WEALTH, HOMES, capacity({"O1": 3}), "capacity has no row for outlet(s) ['O2']"),
    ],
)
def test_bad_input_names_the_table_and_column(campaign, home, caps, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(YoushuError) as err:
        select_targets([ScoredCampaign("wealth", campaign)], home, caps or capacity({"O1": 1, "O2": 1}))
    assert message in str(err.value)


def test_values_must_be_given_for_all_campaigns_or_none() -> None:
    with pytest.raises(YoushuError, match=r"missing for \['insurance'\]"):
        select_targets(
            [ScoredCampaign("wealth", WEALTH, value_fen=1.0), ScoredCampaign("insurance", INSURANCE)],
            HOMES,
            capacity({"O1": 1, "O2": 1}),
        )


# -- from a hand-built warehouse -------------------------------------------------------------------------


NAMES = {
    "c1": "张三丰",
    "c2": "李四",
    "c3": "王五",
    "c4": "赵六",
    "c5": "钱七",
    "c6": "孙八",
    "c7": "周九",
    "c8": "吴十",
}


def _phone(i: int) -> str:
    return f"1381234{i:04d}"


def _contact(i: int, customer: str, outlet: str, staff: str, day: date, outcome: str, purpose: str) -> dict:
    return {
        "contact_id": f"K{i:04d}",
        "customer_id": customer,
        "outlet_id": outlet,
        "staff_id": staff,
        "contact_at": datetime.combine(day, datetime.min.time()).replace(hour=10),
        "channel": "phone",
        "purpose": purpose,
        "outcome": outcome,
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    wh = tmp_path / "wh"
    customers = [
        {
            "customer_id": cid,
            "customer_type": "individual",
            "name": name,
            "id_card_no": f"42010219900101{i:04d}",
            "phone": _phone(i),
            "gender": "F",
            "birth_date": date(1990, 1, 1),
            "occupation": "farmer",
            "county_id": "C01",
            "home_outlet_id": "O1" if i <= 5 else "O2",
            "lat": 30.5,
            "lon": 114.3,
            "onboard_date": date(2015, 1, 1),
        }
        for i, (cid, name) in enumerate(NAMES.items(), start=1)
    ]
    outlets = [
        {
            "outlet_id": o,
            "outlet_name": f"网点{o}",
            "county_id": "C01",
            "sub_branch_id": "B1",
            "outlet_type": "self_operated",
            "lat": 30.5,
            "lon": 114.3,
            "opened_date": date(2000, 1, 1),
        }
        for o in ("O1", "O2", "O3")
    ]
    contacts = [
        _contact(1, "c1", "O1", "S1", date(2025, 9, 1), "reached", "wealth"),
        _contact(2, "c2", "O1", "S2", date(2025, 8, 1), "reached", "wealth"),
        _contact(3, "c2", "O1", "S2", date(2025, 9, 20), "declined", "wealth"),  # last in 30 days: declined
        _contact(4, "c3", "O1", "S3", date(2025, 9, 10), "declined", "insurance"),
        _contact(5, "c3", "O1", "S3", date(2025, 9, 25), "interested", "insurance"),  # later: not declined
        _contact(6, "c4", "O1", "S9", date(2025, 5, 1), "reached", "wealth"),  # outside 90 days
        _contact(7, "c6", "O2", "S4", date(2025, 9, 29), "declined", "insurance"),
        _contact(8, "c7", "O2", "S4", date(2025, 10, 5), "declined", "wealth"),  # after the as-of date
    ]
    for name, rows in (("customers", customers), ("outlets", outlets), ("crm_contacts", contacts)):
        spec = TABLES_BY_NAME[name]
        write_part(wh / name, 0, pa.Table.from_pylist(rows, schema=spec.arrow_schema), spec)
    return wh


def test_capacity_counts_distinct_staff_of_the_last_90_days(warehouse: Path) -> None:
    table = outlet_capacity(
        warehouse,
        AS_OF,
        per_manager_week=20,
        weeks=2,
        default_managers=2,
        overrides=pd.DataFrame({"outlet_id": ["O2"], "account_managers": [5]}),
    )
    rows = {r["outlet_id"]: r for r in table.to_pylist()}
    assert (rows["O1"]["account_managers"], rows["O1"]["managers_source"], rows["O1"]["capacity"]) == (
        3,
        "observed",
        120,
    )
    assert (rows["O2"]["account_managers"], rows["O2"]["managers_source"]) == (5, "override")
    assert (rows["O3"]["account_managers"], rows["O3"]["managers_source"], rows["O3"]["capacity"]) == (
        2,
        "default",
        80,
    )


def test_cooling_off_uses_the_last_contact_in_the_window(warehouse: Path) -> None:
    assert sorted(declined_recently(warehouse, AS_OF, 30).to_pylist()) == ["c2", "c6"]
    assert declined_recently(warehouse, AS_OF, 5).to_pylist() == ["c6"]


def test_risky_flags_come_from_the_latest_date_on_or_before_as_of(tmp_path: Path) -> None:
    root = tmp_path / "customer_risk_flags"
    for day, risky in (("2025-08-31", ["c1"]), ("2025-09-30", ["c2"]), ("2025-10-31", ["c3"])):
        folder = root / f"as_of_date={day}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.table(
                {
                    "customer_id": [*risky, "c8"],
                    "as_of_date": pa.array([date.fromisoformat(day)] * 2, pa.date32()),
                    "is_risky_account": [True, False],
                    "alerted_accounts": [1, 0],
                    "max_score": [0.9, 0.1],
                }
            ),
            folder / "part-00000.parquet",
        )
    assert read_risky(root, AS_OF).to_pylist() == ["c2"]
    assert read_risky(["c5"]).to_pylist() == ["c5"]
    with pytest.raises(YoushuError, match="no as_of_date on or before 2025-07-01"):
        read_risky(root, date(2025, 7, 1))


def test_id_files_are_read_as_text_csv_or_parquet(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("customer_id\nc1\n\nc2\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("customer_id,note\nc1,x\nc2,y\n", encoding="utf-8")
    pq.write_table(pa.table({"customer_id": ["c1", "c2"]}), tmp_path / "a.parquet")
    for name in ("a.txt", "a.csv", "a.parquet"):
        assert read_id_file(tmp_path / name).to_pylist() == ["c1", "c2"]
    (tmp_path / "b.csv").write_text("id\nc1\n", encoding="utf-8")
    with pytest.raises(YoushuError, match="has no column 'customer_id'"):
        read_id_file(tmp_path / "b.csv", "opt-out file")


def test_build_applies_the_crm_rules(warehouse: Path) -> None:
    result = build_target_lists(
        warehouse,
        [ScoredCampaign("wealth", WEALTH), ScoredCampaign("insurance", INSURANCE)],
        AS_OF,
        per_manager_week=1,
        opt_out=["c8"],
        risky=["c5"],
        contacted_days=30,
    )
    # O1: 3 managers x 1 = 3 slots; c2 declined, c5 risky, c1 contacted for wealth (its only campaign),
    # c3 contacted for insurance (so wealth). O2: 1 default manager; c6 declined, c8 opted out.
    assert listed(result, "O1") == [("c3", "wealth"), ("c4", "wealth")]
    assert listed(result, "O2") == [("c7", "wealth")]
    assert result.excluded == {
        "no_home_outlet": 0,
        "opted_out": 1,
        "risky_account": 1,
        "declined_recently": 2,
        "contacted_recently": 1,
    }
    assert result.notes["excluded_declined_recently"] == "2"


def test_contacted_rule_needs_a_purpose(warehouse: Path) -> None:
    with pytest.raises(YoushuError, match=r"\['her_economy'\] have no CRM purpose"):
        build_target_lists(warehouse, [ScoredCampaign("her_economy", WEALTH)], AS_OF, contacted_days=7)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_written_lists_mask_personal_data_and_carry_zh_headers(
    warehouse: Path, tmp_path: Path, suffix: str
) -> None:
    result = build_target_lists(warehouse, [ScoredCampaign("wealth", WEALTH)], AS_OF, per_manager_week=10)
    path, summary = write_target_lists(result, tmp_path / f"out{suffix}", warehouse)
    assert summary == summary_path(path) and summary.exists()
    if suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            blob = b"".join(z.read(n) for n in z.namelist()).decode("utf-8", "ignore")
        sheet = list(load_workbook(path)["名单 list"].values)
        assert sheet[0][:4] == ("网点编号", "营销活动", "活动名称", "网点内排名")
        assert "姓名/名称" in sheet[0] and "推荐理由" in sheet[0]
        by_id = {row[4]: row for row in sheet[2:]}
        assert by_id["c1"][sheet[1].index("name")] == "张**"
        assert by_id["c1"][sheet[1].index("phone")] == "138****0001"
    else:
        blob = path.read_bytes().decode("utf-8", "ignore")
        table = pq.read_table(path)
        assert table.column("name").to_pylist()[0] == "张**"
        assert table.column("phone").to_pylist()[0] == "138****0001"
    for i, name in enumerate(NAMES.values(), start=1):
        assert name not in blob and _phone(i) not in blob
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind
