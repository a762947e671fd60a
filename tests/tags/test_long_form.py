"""The long tag table ``apply`` writes is the wide one melted: one row per entity and non-null tag value.

The reference is an independent pandas melt of the wide table ``apply`` wrote for a small province, with
the text of each value made in Python (``true``/``false``, the category, the score with up to 6 decimals
and no trailing zeros). Besides the shipped tags (boolean, categorical, whole-number scores) a few extra
tags give scores with many decimals, negative scores, and null scores and categories.
"""

from __future__ import annotations

import datetime as dtm
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
import yaml

from youshu.engine import Engine
from youshu.features import compute_features, feature_schema
from youshu.synth import generate
from youshu.tags import ENTITIES, TagKind, TagSet, apply, load_definitions

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
AS_OF = dtm.date(2025, 9, 30)
LONG_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("tag_id", pa.string()),
        ("value", pa.string()),
        ("value_bool", pa.bool_()),
        ("value_num", pa.float64()),
    ]
)


def extra_tag(tag_id: str, kind: str, expression: str, given: dict[str, Any], expect: Any) -> dict[str, Any]:
    return {
        "id": tag_id,
        "entity": "customer",
        "display_name_zh": "长表测试",
        "display_name_en": "Long form test",
        "category": "VALUE",
        "description": "用于测试长表。",
        "owner": "tests",
        "kind": kind,
        "expression": expression,
        "tests": [{"name": "one row", "given": given, "expect": expect}],
    }


#: Scores with more than 6 decimals, negative ones, and nulls; a categorical that is null for some rows.
EXTRA_TAGS = [
    extra_tag(
        "aum_third_per_account_yuan",
        "score",
        "aum_fen / 300.0 / NULLIF(accounts_open, 0)",
        {"aum_fen": 100, "accounts_open": 1},
        1 / 3,
    ),
    extra_tag("aum_trend_12m_change", "score", "aum_trend_12m - 1", {"aum_trend_12m": 0.75}, -0.25),
    extra_tag(
        "gender_zh",
        "categorical",
        "CASE WHEN gender = 'F' THEN '女' WHEN gender = 'M' THEN '男' END",
        {"gender": "F"},
        "女",
    ),
]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("long_form") / "warehouse"
    generate(out, customers=1000, seed=5, workers=1)
    return out


@pytest.fixture(scope="module")
def tagset(tmp_path_factory: pytest.TempPathFactory) -> TagSet:
    extra = tmp_path_factory.mktemp("extra_tags") / "customer" / "long_form.yml"
    extra.parent.mkdir(parents=True)
    extra.write_text(yaml.safe_dump(EXTRA_TAGS, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_definitions([DEFINITIONS, extra], {e: feature_schema(e) for e in ENTITIES})


def score_text(number: float) -> str:
    """A score as the long form writes it: fixed point, rounded to 6 decimals, no trailing zeros."""
    assert abs(number) < 1e15, "larger scores are written in each engine's own notation"
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def melt(wide: pa.Table, tagset: TagSet, key: str) -> list[tuple[Any, ...]]:
    """The long form of ``wide`` by pandas: (id, as_of_date, tag_id, value, value_bool, value_num) rows."""
    kinds = {d.id: d.kind for d in tagset.for_entity("customer")}
    frame = wide.to_pandas().melt(id_vars=[key, "as_of_date"], var_name="tag_id", value_name="cell")
    frame = frame[frame["cell"].notna()]
    rows = []
    for entity_id, day, tag_id, cell in frame.itertuples(index=False):
        kind = kinds[tag_id]
        if kind == TagKind.BOOLEAN:
            row = ("true" if cell else "false", bool(cell), None)
        elif kind == TagKind.SCORE:
            row = (score_text(float(cell)), None, float(cell))
        else:
            row = (str(cell), None, None)
        rows.append((entity_id, day, tag_id, *row))
    return sorted(rows, key=lambda r: (r[0], r[2]))


def test_the_long_form_is_the_wide_form_melted_without_nulls(
    engine: Engine, province: Path, tagset: TagSet, tmp_path: Path
) -> None:
    features = compute_features(engine, province, "customer", AS_OF)

    result = apply(engine, tagset, features, "customer", AS_OF, tmp_path / "out", check_tests=False)

    wide = ds.dataset(result.wide_dir, format="parquet").to_table()
    long = ds.dataset(result.long_dir, format="parquet").to_table()
    assert [(f.name, f.type) for f in long.schema] == [(f.name, f.type) for f in LONG_SCHEMA]
    expected = melt(wide, tagset, "customer_id")
    got = sorted(
        (tuple(r.values()) for r in long.to_pylist()),
        key=lambda r: (r[0], r[2]),
    )
    assert len(got) == len(expected)
    differ = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
    assert differ == [], f"{len(differ)} rows differ (long form, pandas melt), e.g. {differ[:3]}"
    # What the comparison covers: every kind, nulls left out, and scores that need rounding or a sign.
    cells = pd.DataFrame(expected, columns=LONG_SCHEMA.names)
    kinds = {d.id: d.kind for d in tagset.for_entity("customer")}
    assert {kinds[t] for t in cells["tag_id"]} == set(TagKind)
    assert sum(wide[t].null_count for t in wide.column_names[2:]) > 0
    for tag_id in ("gender_zh", "aum_trend_12m_change"):
        assert 0 < wide[tag_id].null_count < wide.num_rows, tag_id
    scores = cells[cells["tag_id"].isin(["aum_third_per_account_yuan", "aum_trend_12m_change"])]
    assert scores["value"].str.contains(r"\.\d{6}$").any()  # rounded to 6 decimals
    assert scores["value"].str.startswith("-").any()
    assert (~scores["value"].str.contains(".", regex=False)).any()  # whole numbers without ".0"
