"""The rules layer: shipped rules load and pass their tests; bad rules are refused when loaded, not when run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from youshu.errors import YoushuError
from youshu.models.risk.rules import DEFAULT_RULES, FEATURE_DTYPES, load_rules

GOOD = {
    "id": "many_payers",
    "name_zh": "大量付款方",
    "name_en": "Many payers",
    "description": "近7天付款方不少于10个。",
    "expression": "fan_in_7d >= 10",
    "prior_precision": 0.1,
    "tests": [{"given": {"fan_in_7d": 12}, "expect": True}, {"given": {"fan_in_7d": 2}, "expect": False}],
}


def _write(tmp_path: Path, rules: list[dict]) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_rules_load_with_zh_names_and_pass_their_tests() -> None:
    rules = load_rules()
    assert rules.source == str(DEFAULT_RULES)
    assert len(rules.rules) >= 10
    assert {"many_new_counterparties", "rapid_pass_through", "night_burst", "fund_loop"} <= set(rules.ids)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.name_zh) for r in rules.rules)
    assert rules.run_tests() == []


def test_hits_evaluate_each_rule_per_row_and_nulls_do_not_fire() -> None:
    rules = load_rules()
    frame = pd.DataFrame(
        {name: [0, 0, 0] if dtype == "int" else [None] * 3 for name, dtype in FEATURE_DTYPES.items()}
    ).astype({n: "float64" for n, d in FEATURE_DTYPES.items() if d == "float"})
    frame["is_new_account"] = [False, False, False]
    frame["graph_in_short_cycle"] = [False, False, False]
    frame["new_counterparties_7d"] = [9, 1, 0]
    frame["graph_shortest_cycle"] = [0, 4, 2]
    frame.index = ["x", "y", "z"]
    hits = rules.hits(frame)
    assert list(hits.index) == ["x", "y", "z"]
    assert hits["many_new_counterparties"].tolist() == [True, False, False]
    assert hits["fund_loop"].tolist() == [False, True, False]
    assert not hits["rapid_pass_through"].any()  # null shares never fire


def test_a_good_rule_file_loads(tmp_path: Path) -> None:
    assert load_rules(_write(tmp_path, [GOOD])).ids == ["many_payers"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expression": "fan_in_7 >= 10"}, "fan_in_7"),
        ({"expression": "fan_in_7d + 1"}, "boolean"),
        ({"expression": "fan_in_7d >= ;"}, "invalid SQL"),
        ({"colour": "red"}, "colour"),
        ({"prior_precision": 1.5}, "prior_precision"),
        ({"id": "Bad Id"}, "id"),
        ({"tests": [{"given": {"fan_in_7d": 12}, "expect": False}]}, "expected False, got True"),
        ({"tests": [{"given": {"nonsense": 1}, "expect": True}]}, "unknown feature 'nonsense'"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_rule_and_the_problem(
    tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(YoushuError, match=message) as info:
        load_rules(_write(tmp_path, [{**GOOD, **change}]))
    assert "rules.yml" in str(info.value)


def test_duplicate_ids_and_non_lists_are_refused(tmp_path: Path) -> None:
    with pytest.raises(YoushuError, match="defined twice"):
        load_rules(_write(tmp_path, [GOOD, GOOD]))
    path = tmp_path / "other.yml"
    path.write_text("id: x\n", encoding="utf-8")
    with pytest.raises(YoushuError, match="YAML list"):
        load_rules(path)


def test_a_frame_without_a_used_feature_is_refused() -> None:
    with pytest.raises(YoushuError, match="lacks"):
        load_rules().hits(pd.DataFrame({"fan_in_7d": [1]}))
