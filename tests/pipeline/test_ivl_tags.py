"""After the tags and models steps, the run's customer tag tables carry the IVL tags (issue 5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from youshu.engine import connect
from youshu.pipeline.models_step import SHIPPED_IVL_DEFINITIONS, models_step
from youshu.pipeline.run import RunContext
from youshu.pipeline.tags_step import SHIPPED_DEFINITIONS, TAGS_DIR, tags_step
from youshu.tags.audience import AudienceIndex
from youshu.tags.model_tags import IVL_TAGS, read_model_tags

from . import AS_OF

DAY = f"as_of_date={AS_OF.isoformat()}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunContext, Path]]:
    """A 1,500-customer province through the tags step, then the models step, in one run folder."""
    from youshu.synth import generate

    root = tmp_path_factory.mktemp("ivl-tags")
    generate(root / "warehouse", customers=1_500, seed=11, workers=1)
    with connect("duckdb") as eng:
        ctx = RunContext(eng, root / "warehouse", AS_OF, "test", root / "run", validation=None, row_counts={})
        ctx.out_dir.mkdir()
        tags_step(ctx, definitions=SHIPPED_DEFINITIONS)
        models_step(ctx, ivl_definitions=SHIPPED_IVL_DEFINITIONS)
        yield ctx, ctx.out_dir / TAGS_DIR / "customer_tags" / DAY


def test_the_customer_tag_table_of_the_run_has_the_ivl_column(run_dir: tuple[RunContext, Path]) -> None:
    ctx, folder = run_dir
    portrait = ctx.results["ivl"].table.set_index("customer_id")
    wide = ds.dataset(folder / "wide", format="parquet").to_table().to_pandas().set_index("customer_id")

    assert {t.id for t in IVL_TAGS} <= set(wide.columns)
    assert "female_customer" in wide.columns  # the declared tags are still there
    assert wide["ivl"].to_dict() == portrait["ivl_tag"].to_dict()
    assert set(read_model_tags(folder)) == {t.id for t in IVL_TAGS}


def test_an_ivl_audience_of_the_run_counts_the_portrait(run_dir: tuple[RunContext, Path]) -> None:
    ctx, folder = run_dir
    portrait = ctx.results["ivl"].table
    expected = ((portrait["intimacy_level"] == "高") & (portrait["lifecycle_stage"] == "growth")).sum()

    index = AudienceIndex.load(folder / "audience")

    assert index.count("高亲密 AND 成长期") == int(expected)
    long = ds.dataset(folder / "long", format="parquet").to_table(columns=["tag_id"]).to_pandas()
    assert (long["tag_id"] == "ivl").sum() == len(portrait)
