"""Model-derived tags added to an applied tag date folder: wide columns, long rows, audience bitmaps, atomicity.

The folder is applied by the real ``apply`` on a small synthetic province; the IVL levels are drawn at random
per customer (these tests are about the tag tables, not the IVL model), and the reference for every check is a
direct pandas computation over the frame that was added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from tests.clirun import run_cli

from youshu.cli import audience as _audience  # noqa: F401  (registers its commands)
from youshu.engine import Engine, connect
from youshu.errors import YoushuError
from youshu.features import compute_features, feature_schema
from youshu.models.ivl import STAGE_ZH
from youshu.models.ivl.cube import LEVELS as CUBE_LEVELS
from youshu.models.ivl.intimacy import LEVELS as INTIMACY_LEVELS
from youshu.models.ivl.portrait import ivl_tag
from youshu.synth import generate
from youshu.tags import ENTITIES, STATE_FILE, TagKind, TagSet, apply, load_definitions, plan
from youshu.tags.audience import AudienceError, AudienceIndex
from youshu.tags.model_tags import (
    IVL_LEVELS,
    IVL_STAGES,
    IVL_TAGS,
    MODEL_TAGS_FILE,
    ModelTag,
    add_model_tags,
    ivl_tag_frame,
    read_model_tags,
)

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
AS_OF = date(2025, 9, 30)
BOOLEAN_IVL = [t for t in IVL_TAGS if t.kind == TagKind.BOOLEAN]


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


@pytest.fixture(scope="module")
def tagset() -> TagSet:
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ENTITIES})


@pytest.fixture(scope="module")
def applied(duck: Engine, tagset: TagSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Customer tags of a 1,000-customer province, applied once; each test copies the output folder."""
    root = tmp_path_factory.mktemp("model_tags")
    generate(root / "warehouse", customers=1000, seed=5, workers=1)
    features = compute_features(duck, root / "warehouse", "customer", AS_OF).order_by("customer_id")
    apply(duck, tagset, features, "customer", AS_OF, root / "out", check_tests=False)
    return root / "out"


@pytest.fixture
def out(applied: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(applied, tmp_path / "out"))


def _folder(out: Path) -> Path:
    return out / "customer_tags" / f"as_of_date={AS_OF.isoformat()}"


def _wide(folder: Path) -> pd.DataFrame:
    return ds.dataset(folder / "wide", format="parquet").to_table().to_pandas()


def _long(folder: Path) -> pa.Table:
    return ds.dataset(folder / "long", format="parquet").to_table()


def _portrait(ids: list[str], seed: int = 3) -> pd.DataFrame:
    """A portrait-shaped table with random levels and stages (every combination likely present)."""
    rng = np.random.default_rng(seed)
    intimacy = rng.choice(list(INTIMACY_LEVELS), len(ids))
    value = rng.choice(list(INTIMACY_LEVELS), len(ids))
    stage = rng.choice(list(STAGE_ZH), len(ids))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "intimacy_level": intimacy,
            "value_level": value,
            "lifecycle_stage": stage,
            "ivl_tag": ivl_tag(intimacy, value, stage),
        }
    )


def _ids(folder: Path) -> list[str]:
    return sorted(_wide(folder)["customer_id"])


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def test_the_ivl_tags_use_the_levels_and_stages_of_the_ivl_model() -> None:
    assert IVL_STAGES == STAGE_ZH
    assert tuple(IVL_LEVELS) == INTIMACY_LEVELS == CUBE_LEVELS
    by_zh = {t.display_name_zh: t.id for t in IVL_TAGS}
    for zh in ("高亲密", "中亲密", "低亲密", "高潜力", "中潜力", "低潜力", *STAGE_ZH.values()):
        assert zh in by_zh
    assert by_zh["成长期"] == "ivl_stage_growth" and by_zh["高亲密"] == "ivl_intimacy_high"
    assert by_zh["客户IVL画像"] == "ivl"


def test_the_frame_of_a_portrait_has_one_true_flag_per_dimension_matching_the_3d_tag() -> None:
    portrait = _portrait([f"C{i:04d}" for i in range(300)])
    frame = ivl_tag_frame(portrait).to_pandas()
    names = {t.id: t.display_name_zh for t in BOOLEAN_IVL}
    for prefix in ("ivl_intimacy_", "ivl_value_", "ivl_stage_"):
        flags = frame[[c for c in frame.columns if c.startswith(prefix)]]
        assert (flags.sum(axis=1) == 1).all(), prefix
    for row in frame.head(50).itertuples(index=False):
        on = [names[c] for c in names if getattr(row, c)]
        assert row.ivl == "·".join(on)  # e.g. 高亲密·中潜力·成长期


def test_the_wide_table_gains_the_columns_with_nulls_for_missing_customers(out: Path) -> None:
    folder = _folder(out)
    before = _wide(folder)
    ids = _ids(folder)
    present = [c for i, c in enumerate(ids) if i % 7]  # every 7th customer left out
    portrait = _portrait([*present, "C_NOT_IN_THE_TAGS"])

    result = add_model_tags(folder, ivl_tag_frame(portrait), IVL_TAGS, source="ivl")

    after = _wide(folder)
    assert list(after.columns) == [*before.columns, *(t.id for t in IVL_TAGS)]
    assert (result.rows, result.matched, result.dropped) == (len(ids), len(present), 1)
    pd.testing.assert_frame_equal(after[before.columns], before)  # the declared tags are untouched
    frame = ivl_tag_frame(portrait).to_pandas().set_index("customer_id")
    got = after.set_index("customer_id")
    missing = sorted(set(ids) - set(present))
    assert got.loc[missing, [t.id for t in IVL_TAGS]].isna().all().all()
    for t in IVL_TAGS:
        assert got.loc[present, t.id].tolist() == frame.loc[present, t.id].tolist(), t.id
    assert str(pa.Table.from_pandas(after).schema.field("ivl_stage_growth").type) == "bool"
    assert set(read_model_tags(folder)) == {t.id for t in IVL_TAGS}


def test_the_long_form_gets_the_new_rows_in_its_own_schema(out: Path) -> None:
    folder = _folder(out)
    before = _long(folder)
    ids = _ids(folder)
    present = ids[::2]
    frame = ivl_tag_frame(_portrait(present))

    result = add_model_tags(folder, frame, IVL_TAGS, source="ivl")

    after = _long(folder)
    assert after.schema == before.schema
    new = after.filter(pa.compute.is_in(after["tag_id"], value_set=pa.array([t.id for t in IVL_TAGS])))
    assert after.num_rows == before.num_rows + new.num_rows == before.num_rows + result.long_rows
    expected = frame.to_pandas().melt(id_vars="customer_id", var_name="tag_id", value_name="cell")
    rows = sorted(
        (
            r.customer_id,
            AS_OF,
            r.tag_id,
            ("true" if r.cell else "false") if isinstance(r.cell, bool) else r.cell,
            r.cell if isinstance(r.cell, bool) else None,
            None,
        )
        for r in expected.itertuples(index=False)
    )
    got = sorted(tuple(r.values()) for r in new.to_pylist())
    assert got == rows
    assert len(rows) == len(present) * len(IVL_TAGS)


def test_audience_counts_of_ivl_tags_equal_a_direct_pandas_count(out: Path) -> None:
    folder = _folder(out)
    ids = _ids(folder)
    portrait = _portrait(ids[5:])  # the first five customers have no portrait: never in an IVL audience
    add_model_tags(folder, ivl_tag_frame(portrait), IVL_TAGS, source="ivl")
    index = AudienceIndex.load(folder / "audience")
    wide = _wide(folder)
    table = ds.dataset(folder / "wide", format="parquet").to_table()
    flag = {
        f.name: np.asarray(table[f.name].fill_null(False).to_numpy(), dtype=bool)
        for f in table.schema
        if pa.types.is_boolean(f.type)
    }
    i, g = flag["ivl_intimacy_high"], flag["ivl_stage_growth"]

    assert index.count("高亲密 AND 成长期") == int((i & g).sum()) > 0
    assert index.count("ivl_intimacy_high AND ivl_stage_growth") == int((i & g).sum())
    expected = (flag["ivl_value_mid"] | (flag["ivl_stage_decline"] & ~flag["ivl_intimacy_low"])).sum()
    assert index.count("中潜力 OR 衰退期 AND NOT 低亲密") == int(expected)
    mixed = flag["female_customer"] & flag["ivl_value_high"] & ~flag["ivl_stage_dormant"]
    assert index.count("女性客群 且 高潜力 且 非 沉睡流失") == int(mixed.sum()) > 0
    members = set(index.members("高亲密 AND 成长期").to_pylist())
    assert members == set(wide.loc[i & g, "customer_id"])
    assert index.count("低亲密 OR 中亲密 OR 高亲密") == len(ids) - 5
    assert sum(index.count_by_outlet("高亲密").values()) == int(i.sum())  # outlets are kept


def test_youshu_audience_count_resolves_the_ivl_zh_names(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(out)
    add_model_tags(folder, ivl_tag_frame(_portrait(_ids(folder))), IVL_TAGS, source="ivl")
    wide = _wide(folder)
    expected = int((wide["ivl_intimacy_high"] & wide["ivl_stage_growth"]).sum())

    code, text = run_cli(["audience", "count", "高亲密 AND 成长期", "--tags", str(folder)], capsys)

    assert code == 0, text
    assert f"人数 matches: {expected:,} of {len(wide):,}" in text


def test_a_frame_with_duplicate_ids_is_refused_before_anything_is_written(out: Path) -> None:
    folder = _folder(out)
    ids = _ids(folder)
    frame = ivl_tag_frame(_portrait([*ids, ids[3]]))
    before = _snapshot(out)

    with pytest.raises(YoushuError, match=rf"customer_id must be unique.*{ids[3]}"):
        add_model_tags(folder, frame, IVL_TAGS, source="ivl")

    assert _snapshot(out) == before


def test_a_failure_while_writing_leaves_the_folder_unchanged(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(out)
    before = _snapshot(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("youshu.tags.model_tags._write_audience", broken)
    with pytest.raises(OSError, match="disk full"):
        add_model_tags(folder, ivl_tag_frame(_portrait(_ids(folder))), IVL_TAGS, source="ivl")

    assert _snapshot(out) == before  # no new column, long part, bitmap or leftover temporary folder
    with pytest.raises(AudienceError, match="unknown tag"):
        AudienceIndex.load(folder / "audience").count("高亲密")


def test_adding_a_source_again_replaces_its_tags(out: Path) -> None:
    folder = _folder(out)
    ids = _ids(folder)
    add_model_tags(folder, ivl_tag_frame(_portrait(ids, seed=1)), IVL_TAGS, source="ivl")
    rows_once = _long(folder).num_rows
    second = ivl_tag_frame(_portrait(ids, seed=2)).to_pandas()

    add_model_tags(folder, second, IVL_TAGS, source="ivl")

    wide = _wide(folder)
    assert list(wide.columns).count("ivl") == 1
    assert _long(folder).num_rows == rows_once
    assert sorted(p.name for p in (folder / "long").glob("part-ivl*")) == ["part-ivl.parquet"]
    expected = int((second["ivl_intimacy_high"] & second["ivl_stage_growth"]).sum())
    assert AudienceIndex.load(folder / "audience").count("高亲密 AND 成长期") == expected


def test_a_score_tag_of_another_source_sits_beside_the_ivl_tags(out: Path) -> None:
    folder = _folder(out)
    ids = _ids(folder)
    add_model_tags(folder, ivl_tag_frame(_portrait(ids)), IVL_TAGS, source="ivl")
    scores = pd.DataFrame({"customer_id": ids[:3], "churn_risk": [1 / 3, -0.25, 2.0]})
    tag = ModelTag("churn_risk", "流失风险分", TagKind.SCORE)

    add_model_tags(folder, scores, [tag], source="risk")

    long = _long(folder).to_pandas()
    got = long[long["tag_id"] == "churn_risk"].sort_values("customer_id")
    assert got["value"].tolist() == ["0.333333", "-0.25", "2"]
    assert got["value_num"].tolist() == [1 / 3, -0.25, 2.0]
    assert (long["tag_id"] == "ivl").sum() == len(ids)  # the IVL rows are still there
    assert {e["source"] for e in read_model_tags(folder).values()} == {"ivl", "risk"}
    assert "churn_risk" not in AudienceIndex.load(folder / "audience").bitmaps  # scores are no bitmaps


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (ModelTag("female_customer", "某标签", TagKind.BOOLEAN), "already has a column 'female_customer'"),
        (ModelTag("ivl_female", "女性客群", TagKind.BOOLEAN), "zh name '女性客群' is already the name of"),
        (ModelTag("Bad-Id", "坏标签", TagKind.BOOLEAN), "not snake_case"),
        (ModelTag("ivl_flag", "标记", TagKind.SCORE), "a score tag needs numbers"),
    ],
)
def test_clashing_or_mistyped_tags_are_refused(out: Path, tag: ModelTag, message: str) -> None:
    folder = _folder(out)
    ids = _ids(folder)
    frame = pd.DataFrame({"customer_id": ids, tag.id: [True] * len(ids)})
    before = _snapshot(out)

    with pytest.raises(YoushuError, match=message):
        add_model_tags(folder, frame, [tag], source="test")

    assert _snapshot(out) == before


def test_the_tag_state_and_plan_ignore_model_tags(out: Path, tagset: TagSet) -> None:
    folder = _folder(out)
    state = (out / STATE_FILE).read_bytes()

    add_model_tags(folder, ivl_tag_frame(_portrait(_ids(folder))), IVL_TAGS, source="ivl")

    assert (out / STATE_FILE).read_bytes() == state
    assert not plan(tagset, out / STATE_FILE, entity="customer").has_changes
    assert (folder / MODEL_TAGS_FILE).is_file()


def test_a_folder_that_is_not_an_applied_date_is_refused(tmp_path: Path) -> None:
    frame = ivl_tag_frame(_portrait(["C1"]))
    with pytest.raises(YoushuError, match="not an applied tag date folder"):
        add_model_tags(tmp_path / "customer_tags" / "as_of_date=2025-09-30", frame, IVL_TAGS, source="ivl")
