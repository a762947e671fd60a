"""The pipeline's circles step: circles, the offline map, merchant alerts, KPIs and campaigns in the run."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import connect
from youshu.geo.circle_tags import KEY_MERCHANT_TAGS
from youshu.pipeline import run_pipeline
from youshu.pipeline.circles_step import (
    CIRCLE_TAGS_FILE,
    MAP_FILE,
    circles_step,
    merchant_tag_labels,
    quarter_of,
)
from youshu.pipeline.run import Step
from youshu.pipeline.tags_step import SHIPPED_DEFINITIONS, tags_step

from . import AS_OF, write_tiny_warehouse


def test_quarter_of_covers_the_day() -> None:
    assert quarter_of(date(2025, 9, 30)).label == "2025Q3"
    assert quarter_of(date(2025, 1, 1)).label == "2025Q1"
    q = quarter_of(date(2025, 11, 5))
    assert (q.start, q.end) == (date(2025, 10, 1), date(2025, 12, 31))


def test_a_merchant_is_coloured_by_its_most_urgent_tag(tmp_path: Path) -> None:
    wide = tmp_path / "wide"
    wide.mkdir()
    table = pa.table(
        {
            "merchant_id": ["M1", "M2", "M3", "M4"],
            "vip": [True, True, False, None],
            "churn_warning": [False, True, False, None],
            "low_qr": [False, False, True, False],
        }
    )
    pq.write_table(table, wide / "part-0.parquet")
    zh = {"vip": "VIP商户", "churn_warning": "流失预警", "low_qr": "收单码使用频率不高", "absent": "沉睡商户"}
    assert merchant_tag_labels(wide, zh) == {"M1": "VIP商户", "M2": "流失预警", "M3": "收单码使用频率不高"}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiny = write_tiny_warehouse(tmp_path_factory.mktemp("tiny") / "warehouse")
    with connect("duckdb") as eng:
        steps = [
            Step("tags", partial(tags_step, definitions=SHIPPED_DEFINITIONS)),
            Step("circles", circles_step),
        ]
        return run_pipeline(
            AS_OF, engine=eng, warehouse=tiny, runs_dir=tmp_path_factory.mktemp("runs"), steps=steps
        ).folder


def test_the_run_writes_circles_the_map_and_merchant_tables(run_folder: Path) -> None:
    for table in ("circle_summary", "circle_members", "merchant_home"):
        assert (run_folder / "circles" / table).is_dir(), table
    for name in ("alerts", "alerts_by_outlet", "vip", "kpi_outlets", "campaigns", "alliance_ledger"):
        assert (run_folder / "merchants" / f"{name}.parquet").is_file(), name
    page = (run_folder / MAP_FILE).read_text(encoding="utf-8")
    assert "<script src=" not in page  # plotly.js is inline: the map works offline
    members = pq.read_table(run_folder / "circles" / "circle_members").to_pandas()
    assert (members["distance_m"] <= 3_000).all()


def test_the_report_has_the_circle_sections(run_folder: Path) -> None:
    html = (run_folder / "report.html").read_text(encoding="utf-8")
    for section in ("circles", "merchant-alerts", "outlet-kpis", "campaign-alliance"):
        assert f'id="{section}"' in html, section
    assert "微商圈" in html and MAP_FILE in html


def test_the_run_counts_the_key_merchant_tags_per_circle(run_folder: Path) -> None:
    counts = pq.read_table(run_folder / CIRCLE_TAGS_FILE).to_pandas()
    assert list(dict.fromkeys(counts["tag_zh"])) == list(KEY_MERCHANT_TAGS)
    members = pq.read_table(run_folder / "circles" / "circle_members").to_pandas()
    wide = pq.read_table(run_folder / "tags" / "merchant_tags" / f"as_of_date={AS_OF}" / "wide").to_pandas()
    long = wide.melt(
        id_vars="merchant_id", value_vars=list(dict.fromkeys(counts["tag_id"])), var_name="tag_id"
    )
    joined = members.merge(long[long["value"].fillna(False).astype(bool)], on="merchant_id")
    expected = joined.groupby(["outlet_id", "tag_id"]).size()
    got = counts.set_index(["outlet_id", "tag_id"])["tagged_merchants"]
    assert len(got) == len(pq.read_table(run_folder / "circles" / "circle_summary")) * len(KEY_MERCHANT_TAGS)
    assert got.sum() > 0 and (got == expected.reindex(got.index, fill_value=0)).all()
    html = (run_folder / "report.html").read_text(encoding="utf-8")
    circles = html[html.index('id="circles"') : html.index('id="merchant-alerts"')]
    assert all(zh in circles for zh in KEY_MERCHANT_TAGS)


def test_without_merchant_tags_the_step_writes_no_tag_counts(tmp_path: Path) -> None:
    tiny = write_tiny_warehouse(tmp_path / "warehouse")
    with connect("duckdb") as eng:
        steps = [Step("circles", circles_step)]
        folder = run_pipeline(
            AS_OF, engine=eng, warehouse=tiny, runs_dir=tmp_path / "runs", steps=steps
        ).folder
    assert (folder / "circles" / "circle_summary").is_dir()
    assert not (folder / CIRCLE_TAGS_FILE).exists()
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "资产提升不佳" not in html and "No merchant tags in this run" in html
