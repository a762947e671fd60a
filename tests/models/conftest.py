"""Shared fixtures of the model tests: the CDNOW reference summary, a small province, its buyers and truth."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from youshu.engine import connect
from youshu.models.rfm import rfm_summary
from youshu.schema.storage import TRUTH_DIR

DATA = Path(__file__).parent / "data"
#: End of the 39-week calibration period of the CDNOW sample (Fader, Hardie & Lee 2005).
CDNOW_CALIBRATION_END = date(1997, 9, 30)


def cdnow_transactions() -> pd.DataFrame:
    """The CDNOW 1/10 sample transaction log (see data/README.md for provenance): one row per purchase."""
    raw = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"master_id": str, "customer_id": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d").dt.date
    return raw


@pytest.fixture(scope="session")
def cdnow() -> pd.DataFrame:
    """The 2,357-customer CDNOW calibration summary: frequency, recency and T in weeks, mean repeat value ($).

    Computed here from the raw log with ``rfm_summary`` (same-day purchases merged, calibration ending
    1997-09-30), so the golden tests check the summary code as well as the fit.
    """
    with connect("duckdb") as eng:
        summary = rfm_summary(
            ibis.memtable(cdnow_transactions()),
            end=CDNOW_CALIBRATION_END,
            at="date",
            value="dollars",
        )
        frame = eng.execute(summary)
    return frame.sort_values("customer_id").reset_index(drop=True)


#: As-of dates on the synthetic province (data window 2024-01-01..2025-12-31): the test split is the demo
#: as-of date (end minus 92 days, when truth is stated); training one label window earlier.
TEST_AS_OF = date(2025, 9, 30)
TRAIN_AS_OF = date(2025, 7, 1)


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10,000-customer synthetic province (seed 11), generated once per test run."""
    from youshu.synth import generate

    out = tmp_path_factory.mktemp("models-province") / "warehouse"
    generate(out, customers=10_000, seed=11, workers=1)
    return out


def bought_in_window(
    province: Path, category: str, ids: pa.ChunkedArray, as_of: date, days: int = 90
) -> np.ndarray:
    """Whether each of ``ids`` bought a ``category`` product in (as_of, as_of + days], row for row.

    Read from the raw purchases and products with plain SQL: an independent check of a target's labels.
    """
    first, last = as_of + timedelta(days=1), as_of + timedelta(days=days)
    buyers = duckdb.sql(
        f"""
        SELECT DISTINCT p.customer_id
        FROM read_parquet('{province}/purchases/*.parquet') p
        JOIN read_parquet('{province}/products/*.parquet') d USING (product_id)
        WHERE d.category = '{category}' AND p.purchase_date BETWEEN DATE '{first}' AND DATE '{last}'
        """
    ).fetchall()
    return np.isin(ids.to_numpy(zero_copy_only=False), [b[0] for b in buyers])


def planted(province: Path, column: str, ids: pa.ChunkedArray) -> list[float]:
    """The planted ``truth/customers`` ``column`` of each of ``ids`` (read only to measure: the ceiling)."""
    truth = pq.read_table(province / TRUTH_DIR / "customers", columns=["customer_id", column])
    by_id = dict(zip(truth.column(0).to_pylist(), truth.column(1).to_pylist(), strict=True))
    return [by_id[c] for c in ids.to_pylist()]
