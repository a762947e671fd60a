"""Audiences over tag bitmaps: the same answers as plain boolean logic, by outlet, saved and loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from youshu.tags.audience import AudienceError, AudienceIndex, tags_in

N = 5_000


@pytest.fixture(scope="module")
def wide() -> pa.Table:
    rng = np.random.default_rng(7)
    female = rng.random(N) < 0.5
    wealth_elsewhere = rng.random(N) < 0.2
    dormant = rng.random(N) < 0.1
    payroll = pa.array(np.where(rng.random(N) < 0.3, True, None), pa.bool_())  # nulls mean "not tagged"
    return pa.table(
        {
            "customer_id": [f"C{i:09d}" for i in range(N)],
            "outlet_id": [f"O{i % 7:05d}" for i in range(N)],
            "is_female": female,
            "buys_wealth_elsewhere": wealth_elsewhere,
            "is_dormant": dormant,
            "has_payroll": payroll,
            "aum_band": rng.choice(["low", "mid", "high"], N),  # not boolean: not indexed
        }
    )


@pytest.fixture(scope="module")
def index(wide: pa.Table) -> AudienceIndex:
    names = {
        "is_female": "女性客群",
        "buys_wealth_elsewhere": "行外理财客户",
        "is_dormant": "沉睡客户",
        "has_payroll": "代发工资客户",
    }
    return AudienceIndex.from_wide(wide, "customer_id", outlet_column="outlet_id", names=names)


def _np(wide: pa.Table, name: str) -> np.ndarray:
    return np.asarray(wide[name].fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("is_female AND buys_wealth_elsewhere AND NOT is_dormant", lambda f, w, d, p: f & w & ~d),
        ("is_female OR buys_wealth_elsewhere AND NOT is_dormant", lambda f, w, d, p: f | (w & ~d)),
        ("(is_female OR buys_wealth_elsewhere) AND NOT is_dormant", lambda f, w, d, p: (f | w) & ~d),
        ("NOT NOT is_dormant", lambda f, w, d, p: d),
        ("!has_payroll & ~is_dormant | is_female", lambda f, w, d, p: (~p & ~d) | f),
        ("女性客群 且 行外理财客户 且 非 沉睡客户", lambda f, w, d, p: f & w & ~d),
        ("女性客群 AND 代发工资客户", lambda f, w, d, p: f & p),
    ],
)
def test_counts_match_plain_boolean_logic(
    index: AudienceIndex, wide: pa.Table, expression: str, expected
) -> None:  # type: ignore[no-untyped-def]
    f, w, d, p = (_np(wide, c) for c in ("is_female", "buys_wealth_elsewhere", "is_dormant", "has_payroll"))
    mask = expected(f, w, d, p)
    assert index.count(expression) == int(mask.sum())
    assert index.members(expression).to_pylist() == [
        wide["customer_id"][int(i)].as_py() for i in np.flatnonzero(mask)
    ]


def test_counts_by_outlet_add_up(index: AudienceIndex) -> None:
    by_outlet = index.count_by_outlet("is_female AND NOT is_dormant")
    assert sum(by_outlet.values()) == index.count("is_female AND NOT is_dormant")
    assert len(by_outlet) == 7
    assert list(by_outlet.values()) == sorted(by_outlet.values(), reverse=True)


def test_only_boolean_columns_become_bitmaps(index: AudienceIndex) -> None:
    assert "aum_band" not in index.bitmaps
    with pytest.raises(AudienceError, match="unknown tag 'aum_band'"):
        index.count("aum_band")


def test_an_unknown_tag_gets_a_suggestion(index: AudienceIndex) -> None:
    with pytest.raises(AudienceError, match="did you mean is_female"):
        index.count("is_femal AND is_dormant")


@pytest.mark.parametrize(
    "expression", ["", "is_female AND", "(is_female", "is_female is_dormant", "AND is_female", "is_female )"]
)
def test_malformed_expressions_say_what_is_wrong(index: AudienceIndex, expression: str) -> None:
    with pytest.raises(AudienceError, match="audience expression"):
        index.count(expression)


def test_saved_index_loads_with_the_same_answers(index: AudienceIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "idx")
    loaded = AudienceIndex.load(tmp_path / "idx")
    for expression in ("is_female AND NOT is_dormant", "女性客群 OR has_payroll"):
        assert loaded.count(expression) == index.count(expression)
    assert loaded.count_by_outlet("is_female") == index.count_by_outlet("is_female")


def test_loading_a_missing_index_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(AudienceError, match="youshu tags apply"):
        AudienceIndex.load(tmp_path / "nothing")


def test_tags_in_lists_the_tags_an_expression_uses() -> None:
    assert list(tags_in("a AND (b OR NOT c)")) == ["a", "b", "c"]
