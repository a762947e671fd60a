"""Fixtures of the rural tests: the tiny hand-built warehouses and a small synthetic province."""

from __future__ import annotations

from pathlib import Path

import pytest

from youshu.synth import generate

from .tiny import build


@pytest.fixture(scope="session")
def tiny_catalogue_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Counties A and B only (see tiny.py): every catalogue figure known in advance."""
    return build(tmp_path_factory.mktemp("rural_tiny") / "warehouse")


@pytest.fixture(scope="session")
def tiny_chain_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Counties A, B and C with the chain customers of tiny.py."""
    return build(tmp_path_factory.mktemp("rural_chain") / "warehouse", chains=True)


@pytest.fixture(scope="session")
def rural_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5,000-customer synthetic province (seed 3), about 2 s to generate."""
    out = tmp_path_factory.mktemp("rural_province") / "warehouse"
    generate(out, customers=5000, seed=3, workers=1)
    return out


@pytest.fixture(scope="session")
def lending_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 50,000-customer synthetic province (seed 7): enough borrowers for a repayment AUC, about 10 s."""
    out = tmp_path_factory.mktemp("rural_lending") / "warehouse"
    generate(out, customers=50_000, seed=7, workers=1)
    return out
