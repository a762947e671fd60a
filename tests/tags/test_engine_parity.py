"""Every shipped tag gives the same wide and long tables on DuckDB and on Spark, and the values are not trivial.

The tags are applied end to end (features of a small synthetic province, then ``apply``) on both engines
and the Parquet outputs are compared cell by cell, exactly: every score is rounded to a whole number by
its definition, and booleans, categories and the long form's text must match to the character. A second
check feeds the definitions' own given rows (thresholds, nulls, zeros) through both engines.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import Mapping
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from youshu.engine import Engine, connect
from youshu.features import compute_features, feature_schema
from youshu.synth import generate
from youshu.tags import ENTITIES, TagSet, apply, load_definitions
from youshu.tags.compiler import FEATURE_DTYPES
from youshu.tags.definitions import coerce_feature

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
AS_OF = dtm.date(2025, 9, 30)
#: Small enough for CI (about 50 merchants come with it), large enough that most tags take both values.
CUSTOMERS = 4000
#: Share of each entity's boolean tags that must be true for some rows and false for others.
MIN_VARYING_SHARE = {"customer": 0.9, "merchant": 0.6}

Outputs = dict[tuple[str, str], pa.Table]


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ENTITIES})


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parity") / "warehouse"
    generate(out, customers=CUSTOMERS, seed=5, workers=1)
    return out


def read_outputs(out: Path, entity: str, as_of: dtm.date) -> dict[str, pa.Table]:
    """The wide and long tag tables ``apply`` wrote for ``entity``, sorted by id (and tag id)."""
    folder = out / f"{entity}_tags" / f"as_of_date={as_of.isoformat()}"
    key = f"{entity}_id"
    wide = ds.dataset(folder / "wide", format="parquet").to_table()
    long = ds.dataset(folder / "long", format="parquet").to_table()
    return {"wide": wide.sort_by(key), "long": long.sort_by([(key, "ascending"), ("tag_id", "ascending")])}


def apply_all(
    engine: Engine, tagset: TagSet, features: Mapping[str, ir.Table], out: Path, as_of: dtm.date = AS_OF
) -> Outputs:
    """Apply every tag of every entity to its feature table and read the outputs back."""
    result: Outputs = {}
    for entity in ENTITIES:
        # The definitions' given/expect tests run in test_shipped_definitions; here only values matter.
        apply(engine, tagset, features[entity], entity, as_of, out, check_tests=False)
        for form, table in read_outputs(out, entity, as_of).items():
            result[(entity, form)] = table
    return result


def province_tags(engine: Engine, tagset: TagSet, warehouse: Path, out: Path) -> Outputs:
    features = {e: compute_features(engine, warehouse, e, AS_OF) for e in ENTITIES}
    return apply_all(engine, tagset, features, out)


@pytest.fixture(scope="module")
def duckdb_tags(tagset: TagSet, province: Path, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    with connect("duckdb") as eng:
        return province_tags(eng, tagset, province, tmp_path_factory.mktemp("duckdb_tags"))


@pytest.fixture(scope="module")
def spark_tags(
    spark_engine: Engine, tagset: TagSet, province: Path, tmp_path_factory: pytest.TempPathFactory
) -> Outputs:
    return province_tags(spark_engine, tagset, province, tmp_path_factory.mktemp("spark_tags"))


def assert_same_tables(duck: pa.Table, spark: pa.Table, what: str) -> None:
    """Same columns, types and cells (exactly; nulls equal nulls), with the first differences named."""
    # Spark declares columns it can prove non-null as NOT NULL in the Parquet schema; DuckDB never does.
    # Readers see the same types and values, so nullability is left out of the comparison.
    assert [(f.name, f.type) for f in duck.schema] == [(f.name, f.type) for f in spark.schema], what
    assert duck.num_rows == spark.num_rows, what
    key = duck.column_names[0]
    differences = {}
    for name in duck.column_names:
        a, b = duck[name], spark[name]
        same = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        differ = pc.invert(pc.or_(same, both_null))
        if pc.any(differ).as_py():
            rows = pc.indices_nonzero(differ).to_pylist()[:3]
            differences[name] = [
                (duck[key][i].as_py(), a[i].as_py(), b[i].as_py()) for i in rows
            ]  # (id, duckdb, spark)
    assert differences == {}, f"{what}: (id, duckdb, spark) per differing column: {differences}"


@pytest.mark.spark
@pytest.mark.parametrize("form", ["wide", "long"])
@pytest.mark.parametrize("entity", ENTITIES)
def test_every_shipped_tag_is_identical_on_duckdb_and_spark(
    entity: str, form: str, duckdb_tags: Outputs, spark_tags: Outputs, tagset: TagSet
) -> None:
    duck, spark = duckdb_tags[(entity, form)], spark_tags[(entity, form)]
    if form == "wide":
        assert duck.column_names[2:] == [d.id for d in tagset.for_entity(entity)]
    assert duck.num_rows > 0
    assert_same_tables(duck, spark, f"{entity} {form}")


def constant_tags(wide: pa.Table) -> dict[str, list[object]]:
    """Tag columns of a wide table with fewer than two distinct non-null values, and those values."""
    out = {}
    for name in wide.column_names[2:]:
        values = pc.unique(wide[name].drop_null()).to_pylist()
        if len(values) < 2:
            out[name] = values
    return out


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_province_gives_most_tags_both_values(entity: str, duckdb_tags: Outputs, tagset: TagSet) -> None:
    wide = duckdb_tags[(entity, "wide")]
    constant = constant_tags(wide)
    booleans = [d.id for d in tagset.for_entity(entity) if d.kind == "boolean"]
    varying = [t for t in booleans if t not in constant]
    assert len(varying) >= MIN_VARYING_SHARE[entity] * len(booleans), sorted(set(booleans) & set(constant))
    # Every categorical tag and score takes at least two values, and no tag is null for every row.
    others = [d.id for d in tagset.for_entity(entity) if d.kind != "boolean"]
    assert [t for t in others if t in constant] == []
    assert [t for t in wide.column_names[2:] if wide[t].null_count == wide.num_rows] == []


# -- the definitions' own given rows: thresholds, nulls and zeros ---------------------------------------------


def edge_rows(tagset: TagSet, entity: str) -> pa.Table:
    """A feature table with one row per given/expect test of ``entity``, an all-null row and an all-zero row."""
    schema = tagset.feature_schemas[entity]
    givens = [dict(t.given) for d in tagset.for_entity(entity) for t in d.tests]
    zero = {"int": 0, "float": 0.0, "bool": False, "string": "", "date": AS_OF.isoformat()}
    givens += [{}, {name: zero[dtype] for name, dtype in schema.items()}]
    columns = {name: [coerce_feature(g.get(name), dtype) for g in givens] for name, dtype in schema.items()}
    fields = [(name, FEATURE_DTYPES[dtype].to_pyarrow()) for name, dtype in schema.items()]
    ids = [f"E{i:05d}" for i in range(len(givens))]
    return pa.table(
        {f"{entity}_id": ids, **columns}, schema=pa.schema([(f"{entity}_id", pa.string()), *fields])
    )


@pytest.mark.spark
def test_the_definitions_given_rows_give_identical_tags_on_duckdb_and_spark(
    spark_engine: Engine, tagset: TagSet, tmp_path: Path
) -> None:
    features = {e: ibis.memtable(edge_rows(tagset, e)) for e in ENTITIES}
    with connect("duckdb") as eng:
        duck = apply_all(eng, tagset, features, tmp_path / "duckdb")
    spark = apply_all(spark_engine, tagset, features, tmp_path / "spark")
    for key, table in duck.items():
        assert table.num_rows > 0
        assert_same_tables(table, spark[key], " ".join(key))
