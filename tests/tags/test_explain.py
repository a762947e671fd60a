"""``explain``: one entity's tags equal what ``apply`` wrote, with the very inputs each expression reads."""

from __future__ import annotations

import datetime as dtm
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from youshu.engine import Engine, connect
from youshu.errors import YoushuError
from youshu.features import FEATURES, compute_features, feature_schema
from youshu.schema.storage import read_table
from youshu.schema.tables import get_table
from youshu.synth import generate
from youshu.tags import ENTITIES, TagCategory, TagSet, apply, load_definitions
from youshu.tags.explain import PII_COLUMNS, Explanation, explain, format_value

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
AS_OF = dtm.date(2025, 9, 30)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("explain") / "warehouse"
    generate(out, customers=1000, seed=5, workers=1)
    return out


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ENTITIES})


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture(scope="module")
def applied(
    duck: Engine, province: Path, tagset: TagSet, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, dict[str, Any]]]:
    """entity -> id -> the row of the wide table ``apply`` wrote."""
    out = tmp_path_factory.mktemp("applied")
    rows = {}
    for entity in ENTITIES:
        result = apply(duck, tagset, compute_features(duck, province, entity, AS_OF), entity, AS_OF, out)
        wide = ds.dataset(result.wide_dir, format="parquet").to_table()
        rows[entity] = {r[f"{entity}_id"]: r for r in wide.to_pylist()}
    return rows


def _sample(ids: dict[str, Any], n: int) -> list[str]:
    ordered = sorted(ids)
    step = max(len(ordered) // n, 1)
    return ordered[::step][:n]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


@pytest.mark.parametrize(("entity", "n"), [("customer", 4), ("merchant", 3)])
def test_explained_values_equal_the_applied_wide_table(
    duck: Engine,
    province: Path,
    tagset: TagSet,
    applied: dict[str, dict[str, dict[str, Any]]],
    entity: str,
    n: int,
) -> None:
    seen_true = 0
    for entity_id in _sample(applied[entity], n):
        why = explain(duck, province, tagset, entity, entity_id, AS_OF)
        row = applied[entity][entity_id]
        assert [t.tag_id for t in why] == [d.id for d in tagset.for_entity(entity)]
        differ = {t: (v, row[t]) for t, v in why.values().items() if not _same(v, row[t])}
        assert differ == {}, entity_id
        seen_true += sum(v is True for v in why.values().values())
    assert seen_true > 0  # the comparison covered tags that are set, not only false and null ones


def _identifiers(expression: str, known: set[str]) -> tuple[str, ...]:
    without_strings = re.sub(r"'(?:[^']|'')*'", "''", expression)
    words = re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", without_strings)
    return tuple(dict.fromkeys(w for w in words if w in known))


def test_each_tag_lists_the_features_and_tags_its_expression_reads_with_their_values(
    duck: Engine, province: Path, tagset: TagSet, applied: dict[str, dict[str, dict[str, Any]]]
) -> None:
    entity_id = _sample(applied["customer"], 3)[1]
    why = explain(duck, province, tagset, "customer", entity_id, AS_OF)
    known = set(feature_schema("customer")) | set(tagset.ids)
    values = why.values()
    for t in why:
        expression = tagset[t.tag_id].expression
        assert tuple(i.name for i in t.inputs) == _identifiers(expression, known), t.tag_id
        for i in t.inputs:
            expected = values[i.name] if i.source == "tag" else why.features[i.name]
            assert _same(i.value, expected), (t.tag_id, i.name)
            assert i.source == ("tag" if i.name in tagset else "feature")


def test_the_feature_row_is_the_one_of_the_full_feature_table(
    duck: Engine, province: Path, tagset: TagSet, applied: dict[str, dict[str, dict[str, Any]]]
) -> None:
    entity_id = _sample(applied["customer"], 4)[2]
    full = duck.to_pyarrow(compute_features(duck, province, "customer", AS_OF))
    expected = full.filter(pc.equal(full["customer_id"], entity_id)).to_pylist()[0]

    why = explain(duck, province, tagset, "customer", entity_id, AS_OF)

    assert set(why.features) == set(expected) - {"customer_id"}
    assert {k: v for k, v in why.features.items() if not _same(v, expected[k])} == {}


def test_money_features_are_shown_in_yuan(
    duck: Engine, province: Path, tagset: TagSet, applied: dict[str, dict[str, dict[str, Any]]]
) -> None:
    rich = max(applied["customer"], key=lambda c: applied["customer"][c]["asset_score"] or 0)
    why = explain(duck, province, tagset, "customer", rich, AS_OF)
    aum = why.features["aum_fen"]
    assert aum > 100_00  # more than 100 yuan, so fen and yuan read differently

    text = why.to_text()

    assert f"aum_fen=¥{aum / 100:,.2f}" in text
    assert f"aum_fen={aum}" not in text and f"aum_fen={aum:,}" not in text
    fen = {s.name for s in FEATURES["customer"] if s.unit == "fen"}
    shown = re.findall(r"\b([a-z0-9_]+)=(\S+?)(?:,|$)", text, flags=re.M)
    money = [(name, value) for name, value in shown if name in fen]
    assert money and all(v.startswith("¥") for _, v in money)


def test_text_groups_tags_under_their_category(
    duck: Engine, province: Path, tagset: TagSet, applied: dict[str, dict[str, dict[str, Any]]]
) -> None:
    entity_id = _sample(applied["merchant"], 1)[0]
    why = explain(duck, province, tagset, "merchant", entity_id, AS_OF)

    lines = why.to_text().splitlines()

    assert lines[0].startswith(f"商户 merchant {entity_id} · 截至 as of 2025-09-30")
    headers = [line for line in lines if line.startswith("【")]
    used = [c for c in TagCategory if any(t.category == c for t in why)]
    assert headers == [f"【{c.value} {c.name}】" for c in used]
    current = None
    for line in lines[1:]:
        if line.startswith("【"):
            current = next(c for c in TagCategory if line == f"【{c.value} {c.name}】")
        elif not line.startswith("      "):
            tag_id = line.split(" = ")[0].split()[-1]
            assert why[tag_id].category == current, tag_id
            assert line == f"  {why[tag_id].display_name_zh} {tag_id} = {format_value(why[tag_id].value)}"
    assert sum(1 for line in lines if "因为 because: " in line) == len(why)


def test_an_unknown_id_is_a_clear_error_naming_it_and_the_entity(
    duck: Engine, province: Path, tagset: TagSet
) -> None:
    with pytest.raises(YoushuError, match=r"no merchant with merchant_id 'C000000001' .*unknown"):
        explain(duck, province, tagset, "merchant", "C000000001", AS_OF)
    with pytest.raises(YoushuError, match="unknown entity 'outlet'"):
        explain(duck, province, tagset, "outlet", "O00001", AS_OF)


def test_an_id_that_joined_after_the_as_of_date_says_so(duck: Engine, province: Path, tagset: TagSet) -> None:
    customers = read_table(province, get_table("customers")).to_pylist()
    late = max(customers, key=lambda c: c["onboard_date"])
    before = late["onboard_date"] - dtm.timedelta(days=1)

    with pytest.raises(YoushuError, match=f"customer_id '{late['customer_id']}'.*joined after that date"):
        explain(duck, province, tagset, "customer", late["customer_id"], before)


def test_no_personal_data_is_shown(
    duck: Engine, province: Path, tagset: TagSet, applied: dict[str, dict[str, dict[str, Any]]]
) -> None:
    assert {"name", "id_card_no", "phone"} <= set(PII_COLUMNS)
    for entity in ENTITIES:  # the feature tables carry no column named like personal data
        assert not {s.name for s in FEATURES[entity]} & set(PII_COLUMNS)
    people = {c["customer_id"]: c for c in read_table(province, get_table("customers")).to_pylist()}
    for entity_id in _sample(applied["customer"], 3):
        why: Explanation = explain(duck, province, tagset, "customer", entity_id, AS_OF)
        shown = why.to_text() + repr(why)
        person = people[entity_id]
        for column in ("name", "id_card_no", "phone"):
            if person[column]:
                assert person[column] not in shown, column


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1234567, "fen", "¥12,345.67"),
        (-250, "fen", "-¥2.50"),
        (3.7, "fen", "¥0.04"),
        (1296.4, "m", "1,296 m"),
        (0.123456, "share", "0.1235"),
        (2.0, "", "2"),
        (None, "fen", "null"),
        (False, "", "false"),
        (dtm.date(2025, 9, 30), "", "2025-09-30"),
        ("F", "", "F"),
    ],
)
def test_format_value(value: Any, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


@pytest.mark.spark
def test_explain_on_spark_gives_the_duckdb_values(
    spark_engine: Engine, duck: Engine, province: Path, tagset: TagSet
) -> None:
    merchant = "M0000000001"
    on_spark = explain(spark_engine, province, tagset, "merchant", merchant, AS_OF)
    on_duck = explain(duck, province, tagset, "merchant", merchant, AS_OF)

    assert on_spark.to_text() == on_duck.to_text()
