"""Segments: a boolean tag expression, computed from the tag definitions over the features of the same date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from youshu.engine import Engine, connect
from youshu.features import compute_features
from youshu.models.segment import Segment, SegmentError, load_tagset
from youshu.tags.compiler import TagSet

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_tagset(DEFINITIONS)


def _rows() -> pa.Table:
    # Hand-made: female_customer is gender = 'F'; dormant_customer is COALESCE(days_since_last_txn, 99999) >= 180.
    return pa.table(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "gender": ["F", "F", "M", None, "F", "M"],
            "days_since_last_txn": pa.array([3, 400, 10, 5, None, 200], pa.int64()),
            "aum_fen": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
        }
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("女性客群", [True, True, False, False, True, False]),
        ("female_customer", [True, True, False, False, True, False]),
        # C5 never transacted: dormant by definition.
        ("女性客群 AND NOT 沉睡客户", [True, False, False, False, False, False]),
        ("女性客群 OR 沉睡客户", [True, True, False, False, True, True]),
        # A null gender makes the tag null: outside 女性客群, so inside its negation (as in AudienceIndex).
        ("NOT 女性客群", [False, False, True, True, False, True]),
        ("非 沉睡客户 且 (女性客群 或 NOT female_customer)", [True, False, True, True, False, False]),
    ],
)
def test_mask_follows_the_tag_definitions_on_both_engines(
    engine: Engine, tagset: TagSet, expression: str, expected: list[bool]
) -> None:
    segment = Segment.parse(expression, tagset)
    assert segment.mask(engine, _rows()).tolist() == expected


def test_names_resolve_to_tag_ids_and_the_features_they_read(tagset: TagSet) -> None:
    segment = Segment.parse("女性客群 AND NOT dormant_customer AND 女性客群", tagset)
    assert segment.tags == ("female_customer", "dormant_customer")
    assert segment.features_used == ("days_since_last_txn", "gender")


def test_unknown_tag_is_refused_with_the_closest_names(tagset: TagSet) -> None:
    with pytest.raises(SegmentError, match=r"unknown customer tag '女性客' .*did you mean .*女性客群"):
        Segment.parse("女性客 AND NOT 沉睡客户", tagset)


def test_non_boolean_tag_and_bad_syntax_are_refused(tagset: TagSet) -> None:
    with pytest.raises(SegmentError, match="categorical, not boolean"):
        Segment.parse("lifecycle_rule", tagset)
    with pytest.raises(SegmentError, match=r"a '\)' is missing"):
        Segment.parse("(女性客群 AND 沉睡客户", tagset)


def test_a_feature_table_without_the_tag_columns_is_refused(tagset: TagSet) -> None:
    segment = Segment.parse("女性客群 AND NOT 沉睡客户", tagset)
    with connect("duckdb") as eng, pytest.raises(SegmentError, match=r"\['days_since_last_txn'\]"):
        segment.mask(eng, _rows().drop_columns(["days_since_last_txn"]))


def test_select_refuses_an_empty_segment(tagset: TagSet) -> None:
    segment = Segment.parse("女性客群 AND NOT 女性客群", tagset)
    with (
        connect("duckdb") as eng,
        pytest.raises(SegmentError, match="matches none of the 6 customers as of X"),
    ):
        segment.select(eng, _rows(), what="as of X")


def test_warehouse_segment_matches_gender_and_recency_as_of_the_date(province: Path, tagset: TagSet) -> None:
    segment = Segment.parse("女性客群 AND NOT 沉睡客户", tagset)
    as_of = date(2025, 9, 30)
    with connect("duckdb") as eng:
        features = eng.to_pyarrow(compute_features(eng, province, "customer", as_of)).sort_by("customer_id")
        mask = segment.mask(eng, features)
        filtered = eng.to_pyarrow(segment.filter(compute_features(eng, province, "customer", as_of)))
    gender = np.array(features.column("gender").to_pylist(), dtype=object)
    days = np.array(features.column("days_since_last_txn").fill_null(99999).to_pylist())
    expected = (gender == "F") & (days < 180)
    assert 0 < expected.sum() < len(expected)
    assert np.array_equal(mask, expected)
    # The Ibis filter (what a lazy pipeline would use) keeps the same customers and only the feature columns.
    assert sorted(filtered.column("customer_id").to_pylist()) == sorted(
        features.filter(pa.array(expected)).column("customer_id").to_pylist()
    )
    assert filtered.column_names == features.column_names
