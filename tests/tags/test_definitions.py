"""Loading tag definitions: the YAML format, and every load-time error naming the file, the tag and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from youshu.tags import TagCategory, TagDefinitionError, TagKind, load_definitions

SCHEMAS = {
    "customer": {
        "aum_fen": "int",
        "days_since_last_txn": "int",
        "open_date": "date",
        "is_payroll": "bool",
        "rate": "float",
        "segment_code": "string",
    },
    "merchant": {"monthly_gmv_fen": "int"},
}


def tag(tag_id: str, expression: str, **fields: Any) -> dict[str, Any]:
    """A valid customer tag definition (as YAML data), with ``fields`` overriding the defaults."""
    kind = fields.get("kind", "boolean")
    expect = {"boolean": False, "categorical": None, "score": None}[kind]
    return {
        "id": tag_id,
        "entity": "customer",
        "display_name_zh": "测试标签",
        "display_name_en": "Test tag",
        "category": "资产",
        "description": "用于测试。",
        "owner": "tests",
        "kind": kind,
        "expression": expression,
        "tests": [{"name": "small", "given": {"aum_fen": 1}, "expect": expect}],
        **fields,
    }


def write(path: Path, *tags: dict[str, Any]) -> Path:
    """Write one tag as a mapping, several as a list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data: Any = tags[0] if len(tags) == 1 else list(tags)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(*paths: Path) -> str:
    with pytest.raises(TagDefinitionError) as info:
        load_definitions(list(paths), SCHEMAS)
    return str(info.value)


def test_a_file_holds_one_tag_or_a_family_and_folders_are_searched_recursively(tmp_path: Path) -> None:
    root = tmp_path / "tags"
    write(root / "customer" / "asset.yml", tag("high_aum", "aum_fen >= 50000000"))
    write(
        root / "customer" / "life" / "family.yaml",
        tag("is_dormant", "days_since_last_txn > 180"),
        tag("is_new", "open_date >= DATE '2026-01-01'"),
    )
    write(root / "customer" / ".drafts" / "draft.yml", tag("draft", "nonsense("))

    tagset = load_definitions([root], SCHEMAS)

    assert sorted(tagset.ids) == ["high_aum", "is_dormant", "is_new"]
    assert tagset["high_aum"].category is TagCategory.ASSETS
    assert tagset["high_aum"].kind is TagKind.BOOLEAN
    assert tagset.source("is_new") == root / "customer" / "life" / "family.yaml"


def test_tags_come_after_the_tags_they_use(tmp_path: Path) -> None:
    path = write(
        tmp_path / "customer" / "chain.yml",
        tag("vip_payroll", "is_vip AND is_payroll", depends_on=["is_vip"]),
        tag("is_vip", "rich OR aum_fen > 100", depends_on=["rich"]),
        tag("rich", "aum_fen > 1000"),
        tag("unrelated", "rate > 0.5"),
    )

    tagset = load_definitions([path], SCHEMAS)

    assert tagset.ids == ("rich", "is_vip", "vip_payroll", "unrelated")
    assert tagset.upstream(["vip_payroll"]) == ("rich", "is_vip", "vip_payroll")
    assert tagset.downstream(["rich"]) == ("is_vip", "vip_payroll")


def test_category_may_be_given_by_its_english_name(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("high_aum", "aum_fen > 1", category="merchant_funds"))

    assert load_definitions([path], SCHEMAS)["high_aum"].category == "商户资金"


def test_unknown_column_names_file_tag_field_and_the_closest_column(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "asset.yml", tag("high_aum", "aum_fenn >= 50000000"))

    assert load_error(path) == (
        f"{path}: tag high_aum: expression: unknown column 'aum_fenn' (did you mean 'aum_fen'?)"
    )


def test_unknown_function_is_refused_listing_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", "MEDIAN_OF(aum_fen) > 3"))

    message = load_error(path)

    assert message.startswith(f"{path}: tag t: expression: unknown function 'MEDIAN_OF'")
    assert "allowed functions: ABS, CLAMP, COALESCE" in message


def test_invalid_sql_is_refused_at_load_time(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", "aum_fen >= AND 3"))

    assert load_error(path).startswith(f"{path}: tag t: expression: invalid SQL:")


def test_a_cycle_names_the_tags_and_both_files(tmp_path: Path) -> None:
    one = write(tmp_path / "customer" / "one.yml", tag("a", "b AND aum_fen > 1", depends_on=["b"]))
    two = write(tmp_path / "customer" / "two.yml", tag("b", "NOT a", depends_on=["a"]))

    message = load_error(one, two)

    assert message == f"{one}: tag a: depends_on: cycle a -> b -> a (in {one}, {two})"


def test_a_tag_using_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("a", "a OR aum_fen > 1", depends_on=["a"]))

    assert load_error(path) == f"{path}: tag a: depends_on: cycle a -> a (in {path})"


def test_duplicate_id_across_two_files_names_both(tmp_path: Path) -> None:
    one = write(tmp_path / "customer" / "one.yml", tag("rich", "aum_fen > 1"))
    two = write(tmp_path / "customer" / "two.yml", tag("rich", "aum_fen > 2"))

    assert load_error(one, two) == f"{two}: tag rich: id: tag id 'rich' is defined twice: {one} and {two}"


def test_depends_on_must_list_exactly_the_tags_the_expression_uses(tmp_path: Path) -> None:
    path = write(
        tmp_path / "customer" / "a.yml",
        tag("rich", "aum_fen > 1"),
        tag("poor", "aum_fen < 1"),
        tag("vip", "rich AND is_payroll", depends_on=["poor"]),
    )

    assert load_error(path) == (
        f"{path}: tag vip: depends_on: lists ['poor'] but the expression uses the tags ['rich']; "
        "depends_on must name exactly those"
    )


@pytest.mark.parametrize(
    ("kind", "expression", "needs", "gives"),
    [
        ("boolean", "aum_fen + 1", "a boolean (a condition)", "a number"),
        ("score", "aum_fen > 1", "a number", "a boolean"),
        ("categorical", "rate * 2", "a string", "a number"),
    ],
)
def test_the_expression_must_fit_the_kind(
    tmp_path: Path, kind: str, expression: str, needs: str, gives: str
) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", expression, kind=kind))

    assert load_error(path) == (
        f"{path}: tag t: expression: a {kind} tag needs {needs}, but the expression gives {gives}"
    )


def test_an_unknown_yaml_field_is_refused_listing_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", "aum_fen > 1", colour="red"))

    message = load_error(path)

    assert message.startswith(
        f"{path}: tag t: colour: unknown field; allowed fields: id, entity, display_name_zh"
    )


def test_an_unknown_field_in_a_test_row_is_refused(tmp_path: Path) -> None:
    tests = [{"name": "x", "given": {}, "expect": True, "expected": True}]
    path = write(tmp_path / "customer" / "a.yml", tag("t", "aum_fen > 1", tests=tests))

    assert load_error(path).startswith(
        f"{path}: tag t: tests[0].expected: unknown field; allowed fields: name, given"
    )


def test_a_bad_category_lists_the_categories(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", "aum_fen > 1", category="财富"))

    message = load_error(path)

    assert message.startswith(
        f"{path}: tag t: category: unknown category '财富'; use one of: 基础属性 (BASIC), 资产 (ASSETS)"
    )


def test_missing_fields_and_a_bad_id_are_named(tmp_path: Path) -> None:
    definition = tag("High-AUM", "aum_fen > 1")
    del definition["owner"]
    path = write(tmp_path / "customer" / "a.yml", definition)

    message = load_error(path)

    assert f"{path}: tag High-AUM: id: String should match pattern" in message
    assert f"{path}: tag High-AUM: owner: required field is missing" in message


def test_a_file_without_id_names_the_tag_by_position(tmp_path: Path) -> None:
    definition = tag("x", "aum_fen > 1")
    del definition["id"]
    path = write(tmp_path / "customer" / "a.yml", tag("first", "aum_fen > 1"), definition)

    assert load_error(path) == f"{path}: tag #2: id: required field is missing"


def test_invalid_yaml_and_a_key_given_twice_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "customer" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    twice = tmp_path / "customer" / "twice.yml"
    twice.write_text("id: a\nid: b\n", encoding="utf-8")

    message = load_error(broken, twice)

    assert f"{broken}: invalid YAML:" in message
    assert f"{twice}: invalid YAML: key 'id' is given twice" in message


def test_an_empty_file_and_a_missing_path_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")

    message = load_error(empty, tmp_path / "nowhere")

    assert f"{empty}: the file is empty" in message
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in message


def test_values_belong_to_categorical_tags_and_range_to_scores(tmp_path: Path) -> None:
    path = write(
        tmp_path / "customer" / "a.yml",
        tag("t", "aum_fen > 1", values=["a"]),
        tag("s", "rate", kind="score", range=[10, 0]),
    )

    message = load_error(path)

    assert f"{path}: tag t: values: only categorical tags list values; this tag is boolean" in message
    assert f"{path}: tag s: range: [10.0, 0.0]: the low end must not exceed the high end" in message


def test_a_categorical_result_outside_its_values_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "customer" / "a.yml",
        tag(
            "band",
            "CASE WHEN aum_fen > 1 THEN 'high' ELSE 'lo' END",
            kind="categorical",
            values=["high", "low"],
        ),
    )

    assert load_error(path) == (
        f"{path}: tag band: expression: can give ['lo'], which are not among the tag's values ['high', 'low']"
    )


def test_expect_must_fit_the_kind_values_and_range(tmp_path: Path) -> None:
    path = write(
        tmp_path / "customer" / "a.yml",
        tag("flag", "aum_fen > 1", tests=[{"name": "a", "given": {}, "expect": "yes please"}]),
        tag(
            "band", "'x'", kind="categorical", values=["x"], tests=[{"name": "a", "given": {}, "expect": "y"}]
        ),
        tag("score", "rate", kind="score", range=[0, 1], tests=[{"name": "a", "given": {}, "expect": 2}]),
    )

    message = load_error(path)

    assert (
        f"{path}: tag flag: tests[0].expect: a boolean tag gives true, false or null, not 'yes please'"
        in message
    )
    assert f"{path}: tag band: tests[0].expect: 'y' is not one of the tag's values ['x']" in message
    assert f"{path}: tag score: tests[0].expect: 2 is outside the tag's range [0.0, 1.0]" in message


def test_given_must_name_features_of_their_type(tmp_path: Path) -> None:
    tests = [
        {"name": "typo", "given": {"aum_fenn": 1}, "expect": True},
        {"name": "type", "given": {"aum_fen": "lots", "open_date": "2026-02-30"}, "expect": True},
        {"name": "tag", "given": {"rich": True}, "expect": True},
    ]
    path = write(tmp_path / "customer" / "a.yml", tag("rich", "aum_fen > 1", tests=tests))

    message = load_error(path)

    assert (
        f"{path}: tag rich: tests[0].given.aum_fenn: unknown feature 'aum_fenn' (did you mean 'aum_fen'?)"
        in message
    )
    assert f"{path}: tag rich: tests[1].given.aum_fen: a int feature cannot be 'lots'" in message
    assert f"{path}: tag rich: tests[1].given.open_date: '2026-02-30' is not a date (YYYY-MM-DD)" in message
    assert f"{path}: tag rich: tests[2].given.rich: 'rich' is a tag; given sets features only" in message


def test_every_tag_needs_a_test(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("t", "aum_fen > 1", tests=[]))

    assert (
        load_error(path) == f"{path}: tag t: tests: List should have at least 1 item after validation, not 0"
    )


def test_entity_must_match_the_folder_and_tags_cannot_cross_entities(tmp_path: Path) -> None:
    merchant_tag = tag(
        "busy", "monthly_gmv_fen > 1", entity="merchant", tests=[{"name": "a", "given": {}, "expect": None}]
    )
    misplaced = write(tmp_path / "customer" / "m.yml", merchant_tag)
    crossing = write(tmp_path / "other" / "c.yml", tag("t", "busy AND aum_fen > 1", depends_on=["busy"]))

    message = load_error(misplaced, crossing)

    assert f"{misplaced}: tag busy: entity: 'merchant' in a file under customer/" in message
    assert (
        f"{crossing}: tag t: expression: 'busy' is a merchant tag; customer tags use customer features and tags only"
        in message
    )


def test_a_tag_id_cannot_shadow_a_feature(tmp_path: Path) -> None:
    path = write(tmp_path / "customer" / "a.yml", tag("is_payroll", "aum_fen > 1"))

    assert (
        load_error(path)
        == f"{path}: tag is_payroll: id: 'is_payroll' is also a customer feature; choose another id"
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    one = write(tmp_path / "customer" / "one.yml", tag("a", "aum_fenn > 1"))
    two = write(tmp_path / "customer" / "two.yml", tag("b", "foo(1)"))

    with pytest.raises(TagDefinitionError) as info:
        load_definitions([one, two], SCHEMAS)

    assert [(p.file, p.tag, p.field) for p in info.value.problems] == [
        (one, "a", "expression"),
        (two, "b", "expression"),
    ]
    assert str(info.value).startswith("2 problems in the tag definitions:\n- ")


def test_an_unknown_feature_dtype_is_refused() -> None:
    with pytest.raises(
        TagDefinitionError, match=r"feature_schemas.customer.aum_fen: unknown dtype 'decimal'"
    ):
        load_definitions([], {"customer": {"aum_fen": "decimal"}})
