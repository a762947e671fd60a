"""Shared fixtures of the risk tests: a small synthetic province with enough mules to measure, and a tiny one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from youshu.engine import Engine, connect
from youshu.models.risk.labels import read_cases
from youshu.schema.storage import TRUTH_DIR
from youshu.synth import generate

#: The province's default as-of date (end date minus 92 days).
AS_OF = date(2025, 9, 30)


@pytest.fixture(scope="session")
def risk_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10,000-customer province (seed 3): about 150 planted mules, a couple of dozen active on a day."""
    out = tmp_path_factory.mktemp("risk") / "warehouse"
    generate(out, customers=10_000, seed=3, workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,000-customer province (seed 5) for engine parity."""
    out = tmp_path_factory.mktemp("risk_tiny") / "warehouse"
    generate(out, customers=1000, seed=5, workers=1)
    return out


@pytest.fixture(scope="session")
def cases(risk_province: Path) -> pd.DataFrame:
    """The planted mules as confirmed cases (tests measure quality, so they may read the truth)."""
    return read_cases(risk_province / TRUTH_DIR / "risky_accounts")


@pytest.fixture(scope="module")
def duck() -> Iterator[Engine]:
    with connect("duckdb") as eng:
        yield eng
