"""Merchant tags per circle: counts over overlapping circles, home counts, nulls, and each member's tags."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.errors import YoushuError
from youshu.features.catalog import feature_schema
from youshu.geo.circle_tags import (
    KEY_MERCHANT_TAGS,
    circle_tag_counts,
    find_merchant_tags,
    member_tags,
    merchant_tag_names,
    merchant_tags_dir,
    tag_count_columns,
)
from youshu.geo.circles import CircleResult, circles_from_frames
from youshu.tags.compiler import TagSet
from youshu.tags.definitions import ENTITIES, load_definitions

from .conftest import offset, scattered_merchants

DAY = date(2025, 9, 30)
A = (30.0, 110.0)
B = offset(*A, 90, 4_000)  # 4 km east of A: the 3 km circles overlap
C = offset(*A, 180, 50_000)  # far south: an empty circle
TAGS = {"vip_merchant": "VIP商户", "low_qr_usage": "收单码使用频率不高", "dormant_merchant": "沉睡商户"}
REPO = Path(__file__).resolve().parents[2]


def _merchant(mid: str, at: tuple[float, float], acquired: bool = False, outlet: str | None = None) -> dict:
    return {
        "merchant_id": mid,
        "category": "food",
        "lat": at[0],
        "lon": at[1],
        "is_acquired": acquired,
        "acquiring_outlet_id": outlet,
    }


@pytest.fixture(scope="module")
def tiny() -> CircleResult:
    outlets = pd.DataFrame(
        {
            "outlet_id": ["A", "B", "C"],
            "outlet_name": ["甲营业所", "乙营业所", "丙营业所"],
            "lat": [A[0], B[0], C[0]],
            "lon": [A[1], B[1], C[1]],
        }
    )
    merchants = pd.DataFrame(
        [
            _merchant("M1", offset(*A, 90, 1_800)),  # 1.8 km from A, 2.2 km from B: in both, home A
            _merchant("M2", offset(*A, 270, 1_000)),  # A only
            _merchant("M3", offset(*B, 90, 1_000)),  # B only
            _merchant("M4", offset(*A, 0, 10_000)),  # in no circle
            _merchant("M5", offset(*A, 0, 500)),  # A only, no tag true
            _merchant("M6", offset(*A, 180, 700)),  # A only, absent from the tag table
            _merchant("M7", offset(*B, 0, 500), True, "A"),  # B only; home A (acquiring), outside A's circle
        ]
    )
    return circles_from_frames(outlets, merchants, DAY, 3.0)


def _wide(**overrides: list) -> pa.Table:
    columns: dict[str, list] = {
        "merchant_id": ["M1", "M2", "M3", "M4", "M5", "M7"],
        "as_of_date": [DAY] * 6,
        "vip_merchant": [True, None, True, True, False, True],
        "low_qr_usage": [True, True, False, True, False, False],
        "dormant_merchant": [False, False, None, True, False, False],
        "merchant_size": ["small"] * 6,
    }
    columns.update(overrides)
    return pa.table(columns)


def _cells(counts: pa.Table, column: str) -> dict[tuple[str, str], object]:
    return {
        (r["outlet_id"], r["tag_id"]): r[column]
        for r in counts.select(["outlet_id", "tag_id", column]).to_pylist()
    }


def test_the_tiny_circles_are_as_drawn(tiny: CircleResult) -> None:
    members = tiny.members.to_pandas()
    assert sorted(members.loc[members["outlet_id"] == "A", "merchant_id"]) == ["M1", "M2", "M5", "M6"]
    assert sorted(members.loc[members["outlet_id"] == "B", "merchant_id"]) == ["M1", "M3", "M7"]
    homes = tiny.merchant_home.to_pandas().set_index("merchant_id")["home_outlet_id"]
    assert homes.to_dict() == {f"M{i}": "A" for i in (1, 2, 4, 5, 6, 7)} | {"M3": "B"}


def test_a_merchant_counts_in_every_circle_it_is_in(tiny: CircleResult) -> None:
    counts = circle_tag_counts(tiny, _wide(), TAGS)
    assert counts.num_rows == 3 * 3  # every outlet × every tag, the empty circle too
    assert _cells(counts, "tagged_merchants") == {
        ("A", "vip_merchant"): 1,  # M1 (M2's null is not a tag, M6 has no row)
        ("A", "low_qr_usage"): 2,  # M1, M2
        ("A", "dormant_merchant"): 0,  # M4 is dormant but in no circle
        ("B", "vip_merchant"): 3,  # M1 again, M3, M7
        ("B", "low_qr_usage"): 1,  # M1 again
        ("B", "dormant_merchant"): 0,  # M3's null
        ("C", "vip_merchant"): 0,
        ("C", "low_qr_usage"): 0,
        ("C", "dormant_merchant"): 0,
    }
    merchants = _cells(counts, "merchants")
    assert {o: merchants[(o, "vip_merchant")] for o in "ABC"} == {"A": 4, "B": 3, "C": 0}
    share = _cells(counts, "tagged_share")
    assert share[("A", "low_qr_usage")] == pytest.approx(0.5)
    assert share[("B", "vip_merchant")] == pytest.approx(1.0)
    assert share[("C", "vip_merchant")] is None  # no members: no share
    assert counts.column("tag_zh").to_pylist()[:3] == list(TAGS.values())


def test_home_counts_take_each_merchant_once_in_its_home_circle(tiny: CircleResult) -> None:
    counts = circle_tag_counts(tiny, _wide(), TAGS)
    home = _cells(counts, "home_tagged_merchants")
    assert {k: v for k, v in home.items() if k[1] == "vip_merchant"} == {
        ("A", "vip_merchant"): 1,  # M1 is homed at A
        ("B", "vip_merchant"): 1,  # M3; M1 and M7 are homed at A
        ("C", "vip_merchant"): 0,
    }
    assert home[("A", "low_qr_usage")] == 2 and home[("B", "low_qr_usage")] == 0
    homes = _cells(counts, "home_merchants")
    assert (homes[("A", "vip_merchant")], homes[("B", "vip_merchant")]) == (4, 1)
    summary = tiny.summary.to_pandas().set_index("outlet_id")["home_merchants"]
    assert (summary["A"], summary["B"]) == (4, 1)


def test_member_tags_list_each_members_true_tags_in_order(tiny: CircleResult) -> None:
    members = member_tags(tiny, _wide(), "A", TAGS)
    assert list(members["merchant_id"]) == ["M5", "M6", "M2", "M1"]  # nearest first
    assert dict(zip(members["merchant_id"], members["tags_zh"], strict=True)) == {
        "M5": [],
        "M6": [],
        "M2": ["收单码使用频率不高"],
        "M1": ["VIP商户", "收单码使用频率不高"],
    }
    assert members.set_index("merchant_id").loc["M1", "tag_ids"] == ["vip_merchant", "low_qr_usage"]
    with pytest.raises(YoushuError, match="outlet 'Z' has no circle"):
        member_tags(tiny, _wide(), "Z", TAGS)


def test_counts_read_the_applied_folder_like_the_table(tiny: CircleResult, tmp_path: Path) -> None:
    wide_dir = merchant_tags_dir(tmp_path / "tags", DAY)
    wide_dir.mkdir(parents=True)
    pq.write_table(_wide(), wide_dir / "part-00000.parquet")
    assert find_merchant_tags(tmp_path / "tags", DAY) == wide_dir
    assert find_merchant_tags(wide_dir.parent, DAY) == wide_dir
    assert find_merchant_tags(wide_dir, DAY) == wide_dir
    assert find_merchant_tags(tmp_path / "tags", date(2025, 6, 30)) is None
    assert circle_tag_counts(tiny, wide_dir, TAGS).equals(circle_tag_counts(tiny, _wide(), TAGS))


def test_tag_count_columns_give_one_row_per_outlet(tiny: CircleResult) -> None:
    frame = tag_count_columns(circle_tag_counts(tiny, _wide(), TAGS))
    assert list(frame.columns) == [
        "outlet_id",
        "tagged_vip_merchant",
        "tagged_low_qr_usage",
        "tagged_dormant_merchant",
    ]
    assert frame.set_index("outlet_id").loc["B"].tolist() == [3, 1, 0]
    assert list(frame["outlet_id"]) == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("wide", "message"),
    [
        (_wide().drop_columns(["dormant_merchant"]), r"lacks columns \['dormant_merchant'\]"),
        (_wide(vip_merchant=[1, 0, 1, 1, 0, 1]), "column vip_merchant is int64, not boolean"),
        (_wide(merchant_id=["M1", "M2", "M3", "M4", "M5", "M1"]), "merchant_id 'M1' appears more than once"),
        (_wide(as_of_date=[date(2025, 6, 30)] * 6), "as_of_date 2025-06-30, not 2025-09-30"),
        (_wide(merchant_id=["X1", "X2", "X3", "X4", "X5", "X7"]), "none of the 6 merchants in the circles"),
    ],
)
def test_an_unfit_tag_table_is_a_clear_error(tiny: CircleResult, wide: pa.Table, message: str) -> None:
    with pytest.raises(YoushuError, match=message):
        circle_tag_counts(tiny, wide, TAGS)


def test_counts_agree_with_a_pandas_join_on_scattered_merchants() -> None:
    o = offset(*A, 45, 2_500)
    outlets = pd.DataFrame(
        {"outlet_id": ["P", "Q"], "outlet_name": ["P", "Q"], "lat": [A[0], o[0]], "lon": [A[1], o[1]]}
    )
    merchants = scattered_merchants(*A, 400, 6_000, seed=5)
    circles = circles_from_frames(outlets, merchants, DAY, 3.0)
    rng = np.random.default_rng(3)
    ids = merchants["merchant_id"].sample(frac=0.9, random_state=1).tolist()  # a tenth missing
    values = {t: pa.array(rng.choice([True, False, None], len(ids)).tolist(), pa.bool_()) for t in TAGS}
    wide = pa.table({"merchant_id": ids, **values})
    counts = circle_tag_counts(circles, wide, TAGS).to_pandas()

    long = wide.to_pandas().melt(id_vars="merchant_id", var_name="tag_id", value_name="on")
    joined = circles.members.to_pandas().merge(long[long["on"] == True], on="merchant_id")  # noqa: E712
    expected = joined.groupby(["outlet_id", "tag_id"]).size()
    expected_home = joined[joined["is_home"]].groupby(["outlet_id", "tag_id"]).size()
    got = counts.set_index(["outlet_id", "tag_id"])
    assert got["tagged_merchants"].sum() > 0
    assert (got["tagged_merchants"] == expected.reindex(got.index, fill_value=0)).all()
    assert (got["home_tagged_merchants"] == expected_home.reindex(got.index, fill_value=0)).all()


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_definitions([REPO / "definitions" / "tags"], {e: feature_schema(e) for e in ENTITIES})


def test_key_merchant_tags_resolve_by_zh_name_in_the_shipped_definitions(tagset: TagSet) -> None:
    names = merchant_tag_names(tagset)
    assert list(names.values()) == list(KEY_MERCHANT_TAGS)
    assert list(names) == [
        "low_retained_assets",
        "low_qr_usage",
        "vip_merchant",
        "dormant_merchant",
        "growth_merchant",
        "churn_warning_merchant",
    ]
    assert merchant_tag_names(tagset, ["vip_merchant", "有效商户"]) == {
        "vip_merchant": "VIP商户",
        "effective_merchant": "有效商户",
    }
    every = merchant_tag_names(tagset, None)
    assert list(every)[:6] == list(names)
    assert "effective_merchant" in every and "merchant_size" not in every  # boolean tags only
    assert all(tagset[t].entity == "merchant" for t in every)


def test_an_unknown_or_non_boolean_tag_name_is_a_clear_error(tagset: TagSet) -> None:
    with pytest.raises(YoushuError, match="did you mean VIP商户"):
        merchant_tag_names(tagset, ["VIP商户们"])
    with pytest.raises(YoushuError, match=r"merchant_size .* is categorical"):
        merchant_tag_names(tagset, ["商户规模"])
