"""The catalogue gives the same rows on DuckDB and Spark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from youshu.engine import Engine, Tables, connect
from youshu.rural import specialty_catalogue

from .tiny import AS_OF


@pytest.mark.spark
def test_catalogue_is_the_same_on_duckdb_and_spark(spark_engine: Engine, tiny_chain_warehouse: Path) -> None:
    def run(eng: Engine) -> pd.DataFrame:
        frame = eng.execute(specialty_catalogue(Tables(eng, tiny_chain_warehouse), AS_OF))
        return frame.sort_values(["county_id", "industry"]).reset_index(drop=True)

    with connect("duckdb") as duck:
        expected = run(duck)
    got = run(spark_engine)
    assert len(expected) == 6
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-9)
