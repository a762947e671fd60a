"""Shared fixtures of the geo tests: a small synthetic province and frames of outlets and merchants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest

from youshu.engine import Engine, connect
from youshu.synth import generate

#: The demo as-of date of a province generated for 2024-2025.
AS_OF = date(2025, 9, 30)
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="session")
def geo_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3,000-customer synthetic province (seed 11), generated once per test run."""
    out = tmp_path_factory.mktemp("geo_province") / "warehouse"
    generate(out, customers=3000, seed=11, workers=1)
    return out


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng


def offset(lat: float, lon: float, azimuth: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` away from (lat, lon) along ``azimuth`` (degrees from north), on WGS-84."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return float(lat2), float(lon2)


def scattered_merchants(
    lat: float, lon: float, n: int, max_m: float, seed: int, prefix: str = "M"
) -> pd.DataFrame:
    """``n`` merchants scattered up to ``max_m`` around a point, mixed categories and statuses, with volumes."""
    rng = np.random.default_rng(seed)
    az = rng.uniform(0, 360, n)
    dist = max_m * np.sqrt(rng.uniform(0, 1, n))
    lon2, lat2, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist)
    acquired = rng.random(n) < 0.5
    qr = np.where(acquired, rng.integers(0, 40, n), 0)
    categories = ["food", "daily_services", "specialty_market", "retail", "health"]
    return pd.DataFrame(
        {
            "merchant_id": [f"{prefix}{i:05d}" for i in range(n)],
            "merchant_name": [f"商户{i}" for i in range(n)],
            "category": [categories[i % len(categories)] for i in range(n)],
            "lat": lat2,
            "lon": lon2,
            "is_acquired": acquired,
            "acquiring_outlet_id": [None] * n,
            "qr_payments": qr,
            "qr_amount_fen": qr * 1500,
            "deposit_fen": np.where(acquired, rng.integers(0, 5_000_000, n), 0),
        }
    )
