"""The campaign report and the KPI report give the same tables on DuckDB and Spark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from youshu.campaigns import campaign_report
from youshu.engine import Engine, connect
from youshu.merchants import kpi_report

from .tiny import AS_OF


@pytest.mark.spark
def test_campaign_and_kpi_reports_are_identical_on_duckdb_and_spark(spark_engine: Engine, tiny: Path) -> None:
    with connect("duckdb") as duck:
        campaigns, kpis = campaign_report(duck, tiny, AS_OF), kpi_report(duck, tiny, "2025Q3")
    spark_campaigns, spark_kpis = (
        campaign_report(spark_engine, tiny, AS_OF),
        kpi_report(spark_engine, tiny, "2025Q3"),
    )
    pd.testing.assert_frame_equal(spark_campaigns.ledger, campaigns.ledger, check_dtype=False)
    pd.testing.assert_frame_equal(spark_campaigns.campaigns, campaigns.campaigns, check_dtype=False)
    for name in ("outlets", "sub_branches", "trend"):
        pd.testing.assert_frame_equal(
            getattr(spark_kpis, name), getattr(kpis, name), check_dtype=False, obj=name
        )
    assert len(campaigns.ledger) == 2 and kpis.outlets["new_effective_merchants"].sum() == 2
