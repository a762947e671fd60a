"""Compiling tags over feature tables (same answers on DuckDB and Spark), running their tests, plan and apply."""

from __future__ import annotations

import datetime as dtm
import json
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq
import pytest
import yaml

from youshu.engine import Engine, connect
from youshu.errors import YoushuError
from youshu.tags import STATE_FILE, TagSet, TagTestsFailed, apply, load_definitions, plan, run_tests

SCHEMAS = {
    "customer": {
        "aum_fen": "int",
        "txn_count": "int",
        "rate": "float",
        "segment_code": "string",
        "last_txn_date": "date",
    }
}

FEATURES = {
    "customer_id": ["c1", "c2", "c3", "c4"],
    "aum_fen": [5_000_000, 200, 0, None],
    "txn_count": [10, 0, 4, 2],
    "rate": [0.5, 1.5, -0.2, None],
    "segment_code": ["A", "B", None, "C"],
    "last_txn_date": [dtm.date(2026, 6, 1), dtm.date(2025, 6, 30), None, dtm.date(2026, 6, 30)],
}
FEATURE_TYPES = {
    "customer_id": "string",
    "aum_fen": "int64",
    "txn_count": "int64",
    "rate": "float64",
    "segment_code": "string",
    "last_txn_date": "date",
}


def tag(tag_id: str, expression: str, *, kind: str = "boolean", **fields: Any) -> dict[str, Any]:
    return {
        "id": tag_id,
        "entity": "customer",
        "display_name_zh": "测试",
        "display_name_en": "Test",
        "category": "VALUE",
        "description": "用于测试。",
        "owner": "tests",
        "kind": kind,
        "expression": expression,
        "tests": [{"name": "nothing known", "given": {}, "expect": fields.pop("expect_when_empty", None)}],
        **fields,
    }


# Listed out of dependency order on purpose.
TAGS = [
    tag("active_rich", "rich AND NOT is_dormant", depends_on=["rich", "is_dormant"], expect_when_empty=False),
    tag("rich", "aum_fen >= 1000000"),
    tag(
        "is_dormant",
        "COALESCE(DAYS_BETWEEN(last_txn_date, DATE '2026-06-30') > 180, TRUE)",
        expect_when_empty=True,
        tests=None,
    ),
    tag("avg_txn_yuan", "aum_fen / txn_count / 100", kind="score"),
    tag("log_aum", "ROUND(LN(aum_fen), 4)", kind="score"),
    tag(
        "band",
        "CASE WHEN active_rich THEN 'vip' WHEN segment_code IN ('A', 'B') THEN 'core' ELSE 'other' END",
        kind="categorical",
        values=["vip", "core", "other"],
        depends_on=["active_rich"],
        expect_when_empty="other",
    ),
    tag("rate_score", "CLAMP(rate * 100, 0, 100)", kind="score", range=[0, 100]),
    # Spark keeps 6 digits of a decimal division, and its own ROUND(0.285, 2) is 0.29 where DuckDB's is 0.28:
    # the compiler makes both use doubles, so these agree.
    tag("thirds", "txn_count / 3.0", kind="score"),
    tag("rounded", "ROUND(rate * 0.57, 2)", kind="score"),
]
for definition in TAGS:
    if definition.get("tests") is None:
        definition["tests"] = [{"name": "nothing known", "given": {}, "expect": True}]

EXPECTED = {
    "rich": [True, False, False, None],
    "is_dormant": [False, True, True, False],
    "active_rich": [True, False, False, None],
    "avg_txn_yuan": [5000.0, None, 0.0, None],
    "log_aum": [15.4249, 5.2983, None, None],
    "band": ["vip", "core", "other", "other"],
    "rate_score": [50.0, 100.0, 0.0, None],
    "thirds": [10 / 3, 0.0, 4 / 3, 2 / 3],
    "rounded": [0.28, 0.86, -0.11, None],
}


def write(path: Path, *tags: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(list(tags), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def features(**changes: list[Any]) -> ir.Table:
    return ibis.memtable({**FEATURES, **changes}, schema=FEATURE_TYPES)


@pytest.fixture
def tagset(tmp_path: Path) -> TagSet:
    return load_definitions([write(tmp_path / "defs" / "customer" / "tags.yml", *TAGS)], SCHEMAS)


def test_tags_are_ordered_so_each_comes_after_what_it_uses(tagset: TagSet) -> None:
    assert tagset.ids == (
        "rich",
        "is_dormant",
        "active_rich",
        "avg_txn_yuan",
        "log_aum",
        "band",
        "rate_score",
        "thirds",
        "rounded",
    )


def test_compiled_tags_give_the_same_values_on_every_engine(engine: Engine, tagset: TagSet) -> None:
    compiled = tagset.compile(features(), "customer")

    result = engine.to_pyarrow(compiled.order_by("customer_id")).to_pydict()

    assert {t: result[t] for t in EXPECTED} == EXPECTED
    assert compiled.schema()["rich"].is_boolean()
    assert compiled.schema()["band"].is_string()
    assert compiled.schema()["log_aum"].is_float64()


def test_compile_of_some_tags_adds_them_and_what_they_use(tagset: TagSet) -> None:
    compiled = tagset.compile(features(), "customer", tags=["active_rich"])

    assert compiled.columns[-3:] == ("rich", "is_dormant", "active_rich")


def test_compile_refuses_a_feature_table_without_a_used_column(tagset: TagSet) -> None:
    with pytest.raises(YoushuError, match=r"lacks columns the tags use: \['rate'\]"):
        tagset.compile(features().drop("rate"), "customer")


def test_compile_refuses_a_feature_of_another_type(tagset: TagSet) -> None:
    table = features().mutate(segment_code=ibis.literal(1))

    with pytest.raises(
        YoushuError, match="feature 'segment_code' is int8 in the feature table but declared string"
    ):
        tagset.compile(table, "customer")


def test_run_tests_reports_each_test_and_names_file_tag_and_test_of_a_failure(tmp_path: Path) -> None:
    tests = [
        {"name": "rich", "given": {"aum_fen": 2_000_000}, "expect": True},
        {"name": "wrongly expected", "given": {"aum_fen": 10}, "expect": True},
        {"name": "unknown", "given": {}, "expect": None},
    ]
    path = write(tmp_path / "customer" / "rich.yml", tag("rich", "aum_fen >= 1000000", tests=tests))
    tagset = load_definitions([path], SCHEMAS)

    results = run_tests(tagset)

    assert [(r.test, r.passed) for r in results] == [
        ("rich", True),
        ("wrongly expected", False),
        ("unknown", True),
    ]
    assert results[1].message == f"{path}: tag rich: test 'wrongly expected': expected true, got false"
    assert results[1].actual is False


def test_a_test_whose_row_breaks_the_query_fails_alone(tmp_path: Path) -> None:
    tests = [
        {"name": "overflows", "given": {"aum_fen": 9_000_000_000_000_000_000}, "expect": True},
        {"name": "fine", "given": {"aum_fen": 3}, "expect": True},
    ]
    path = write(tmp_path / "customer" / "sq.yml", tag("square", "aum_fen * aum_fen > 0", tests=tests))

    results = run_tests(load_definitions([path], SCHEMAS))

    assert [(r.test, r.passed) for r in results] == [("overflows", False), ("fine", True)]
    assert results[0].message.startswith(f"{path}: tag square: test 'overflows': evaluation failed:")


def test_all_tests_of_the_shared_definitions_pass(tagset: TagSet) -> None:
    assert [r.message for r in run_tests(tagset) if not r.passed] == []


def test_plan_without_state_adds_everything(tagset: TagSet, tmp_path: Path) -> None:
    result = plan(tagset, tmp_path / "none.json")

    assert result.added == tagset.ids
    assert result.has_changes


def test_plan_shows_added_changed_removed_and_affected_tags(tmp_path: Path) -> None:
    first = load_definitions([write(tmp_path / "v1" / "customer" / "t.yml", *TAGS)], SCHEMAS)
    with connect("duckdb") as eng:
        apply(eng, first, features(), "customer", "2026-06-30", tmp_path / "out")
    changed = [dict(t) for t in TAGS if t["id"] != "log_aum"]
    changed[1] = {**changed[1], "expression": "aum_fen >= 2000000", "description": "changed"}  # rich
    changed[3] = {**changed[3], "display_name_zh": "只改了名字"}  # avg_txn_yuan: not a value change
    changed.append(tag("is_young", "last_txn_date > DATE '2026-01-01'"))
    second = load_definitions([write(tmp_path / "v2" / "customer" / "t.yml", *changed)], SCHEMAS)

    result = plan(second, tmp_path / "out" / STATE_FILE)

    assert result.added == ("is_young",)
    assert result.changed == ("rich",)
    assert result.removed == ("log_aum",)
    assert result.affected == ("active_rich", "band")
    assert set(result.unchanged) == {
        "is_dormant",
        "active_rich",
        "avg_txn_yuan",
        "band",
        "rate_score",
        "thirds",
        "rounded",
    }
    assert result.changes["rich"].fields == ("expression",)
    assert "~ rich: expression: 'aum_fen >= 1000000' -> 'aum_fen >= 2000000'" in result.render()


def test_plan_ignores_spacing_and_keyword_case_in_expressions(tagset: TagSet, tmp_path: Path) -> None:
    with connect("duckdb") as eng:
        apply(eng, tagset, features(), "customer", "2026-06-30", tmp_path / "out")
    respaced = [{**t, "expression": t["expression"].replace(" AND NOT ", "  and  not ")} for t in TAGS]
    again = load_definitions([write(tmp_path / "v2" / "customer" / "t.yml", *respaced)], SCHEMAS)

    result = plan(again, tmp_path / "out" / STATE_FILE)

    assert not result.has_changes
    assert result.render() == "no changes (9 tags)"


def test_apply_writes_long_and_wide_per_as_of_date_and_keeps_earlier_dates(
    engine: Engine, tagset: TagSet, tmp_path: Path
) -> None:
    out = tmp_path / "out"

    first = apply(engine, tagset, features(), "customer", "2026-06-30", out)
    second = apply(engine, tagset, features(aum_fen=[1, 2, 3, 4]), "customer", dtm.date(2026, 7, 31), out)

    dates = sorted(p.name for p in (out / "customer_tags").iterdir())
    assert dates == ["as_of_date=2026-06-30", "as_of_date=2026-07-31"]
    assert first.rows == second.rows == 4
    assert first.plan.added == tagset.ids and not second.plan.has_changes
    wide = pq.read_table(first.wide_dir).sort_by("customer_id").to_pydict()
    assert wide["as_of_date"] == [dtm.date(2026, 6, 30)] * 4
    assert {t: wide[t] for t in EXPECTED} == EXPECTED
    assert pq.read_table(second.wide_dir).sort_by("customer_id").column("rich").to_pylist() == [False] * 4
    long = pq.read_table(first.long_dir).to_pylist()
    assert {"customer_id", "as_of_date", "tag_id", "value", "value_bool", "value_num"} == set(long[0])
    cells = {(r["customer_id"], r["tag_id"]): (r["value"], r["value_bool"], r["value_num"]) for r in long}
    assert cells[("c1", "rich")] == ("true", True, None)
    assert cells[("c1", "band")] == ("vip", None, None)
    assert cells[("c1", "avg_txn_yuan")] == ("5000", None, 5000.0)
    assert cells[("c1", "log_aum")] == ("15.4249", None, 15.4249)
    assert ("c2", "avg_txn_yuan") not in cells  # null values are left out of the long form
    assert len(long) == sum(v is not None for values in EXPECTED.values() for v in values)
    state = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
    assert state["tags"]["rich"]["applied_as_of"] == "2026-07-31"


def test_apply_again_replaces_that_date_only(tagset: TagSet, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with connect("duckdb") as eng:
        apply(eng, tagset, features(), "customer", "2026-06-30", out)
        apply(eng, tagset, features(), "customer", "2026-07-31", out)
        again = apply(eng, tagset, features(aum_fen=[9_000_000] * 4), "customer", "2026-06-30", out)

    assert pq.read_table(again.wide_dir).column("rich").to_pylist() == [True] * 4
    kept = pq.read_table(out / "customer_tags" / "as_of_date=2026-07-31" / "wide").sort_by("customer_id")
    assert kept.column("rich").to_pylist() == EXPECTED["rich"]
    assert sorted(p.name for p in (out / "customer_tags").iterdir()) == [
        "as_of_date=2026-06-30",
        "as_of_date=2026-07-31",
    ]


def test_apply_refuses_when_a_test_fails_and_writes_nothing(tmp_path: Path) -> None:
    broken = {**TAGS[1], "tests": [{"name": "too strict", "given": {"aum_fen": 5}, "expect": True}]}
    tagset = load_definitions([write(tmp_path / "customer" / "t.yml", broken)], SCHEMAS)

    with connect("duckdb") as eng, pytest.raises(TagTestsFailed, match="tag rich: test 'too strict'"):
        apply(eng, tagset, features(), "customer", "2026-06-30", tmp_path / "out")

    assert not (tmp_path / "out").exists()


def test_apply_counts_values_outside_declared_values_and_range(tmp_path: Path) -> None:
    definitions = [
        tag("segment", "segment_code", kind="categorical", values=["A", "B"]),
        tag("tenfold", "rate * 10", kind="score", range=[0, 10]),
    ]
    tagset = load_definitions([write(tmp_path / "customer" / "t.yml", *definitions)], SCHEMAS)

    with connect("duckdb") as eng:
        result = apply(eng, tagset, features(), "customer", "2026-06-30", tmp_path / "out")

    assert result.out_of_domain == {"segment": 1, "tenfold": 2}  # 'C'; 15.0 and -2.0


def test_apply_needs_the_entity_id_column(tagset: TagSet, tmp_path: Path) -> None:
    with connect("duckdb") as eng, pytest.raises(YoushuError, match="needs a string column 'customer_id'"):
        apply(eng, tagset, features().drop("customer_id"), "customer", "2026-06-30", tmp_path / "out")


def test_apply_saves_the_audience_index_of_the_boolean_tags_with_outlets(
    engine: Engine, tagset: TagSet, tmp_path: Path
) -> None:
    from youshu.tags.audience import AudienceIndex

    table = features().mutate(home_outlet_id=ibis.literal("O1"))
    table = table.mutate(home_outlet_id=ibis.ifelse(table.customer_id == "c1", "O2", table.home_outlet_id))

    result = apply(engine, tagset, table, "customer", "2026-06-30", tmp_path / "out")

    assert result.audience_dir == result.wide_dir.parent / "audience"
    assert sorted(p.name for p in result.wide_dir.parent.iterdir()) == ["audience", "long", "wide"]
    wide = pq.read_table(result.wide_dir)
    assert wide.column_names == ["customer_id", "as_of_date", *tagset.ids]  # the outlet is not a tag
    index = AudienceIndex.load(result.audience_dir)
    assert sorted(index.bitmaps) == ["active_rich", "is_dormant", "rich"]
    assert index.names["rich"] == "测试"
    rows = wide.to_pylist()
    assert index.count("rich OR is_dormant") == sum(bool(r["rich"] or r["is_dormant"]) for r in rows)
    assert index.count_by_outlet("rich") == {"O2": 1}
    assert index.count_by_outlet("is_dormant") == {"O1": 2}


def test_apply_reports_progress_per_stage(tagset: TagSet, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    with connect("duckdb") as eng:
        apply(
            eng,
            tagset,
            features(),
            "customer",
            "2026-06-30",
            tmp_path / "out",
            progress=lambda *a: calls.append(a),
        )

    assert calls == [("customer tags", i, 5) for i in range(6)]
