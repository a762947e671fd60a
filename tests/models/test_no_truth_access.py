"""No model or feature code reads the planted truth: checked in the source and by running on a falsified truth."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import youshu
from youshu.engine import connect
from youshu.errors import TruthAccessError
from youshu.models.propensity import PropensityRanker
from youshu.models.scoring import BatchScorer
from youshu.models.targets import labelled_features
from youshu.models.timesplit import TimeSplit
from youshu.schema.storage import TRUTH_DIR, table_dir

from .conftest import TEST_AS_OF, TRAIN_AS_OF

SOURCE = Path(youshu.__file__).parent
GUARDED = ("models", "features", "rural")
#: Modules allowed to name the truth folder, relative to src/youshu, each with the reason (none: model and
#: feature code never reads truth; evaluation harnesses that do belong in tests/ or benchmarks/).
EXEMPT: dict[str, str] = {}


def truth_uses(source: str) -> list[str]:
    """Places in Python source that could reach the truth folder: TRUTH_DIR, or a non-docstring "truth" string."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "TRUTH_DIR":
            found.append(f"line {node.lineno}: TRUTH_DIR")
        elif isinstance(node, ast.Attribute) and node.attr == "TRUTH_DIR":
            found.append(f"line {node.lineno}: .TRUTH_DIR")
        elif isinstance(node, ast.alias) and node.name == "TRUTH_DIR":
            found.append("import of TRUTH_DIR")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and "truth" in node.value.lower()
        ):
            found.append(f"line {node.lineno}: {node.value[:40]!r}")
    return found


def test_the_checker_finds_a_path_to_truth() -> None:
    assert truth_uses('"""Reads no truth."""\nx = 1\n') == []
    assert truth_uses('p = warehouse / "truth" / "customers"') == ["line 1: 'truth'"]
    assert truth_uses("from youshu.schema.storage import TRUTH_DIR\n") == ["import of TRUTH_DIR"]
    assert truth_uses("import youshu.schema.storage as s\nd = s.TRUTH_DIR\n") == ["line 2: .TRUTH_DIR"]


@pytest.mark.parametrize("package", GUARDED)
def test_no_module_of_models_or_features_names_the_truth_folder(package: str) -> None:
    files = sorted((SOURCE / package).rglob("*.py"))
    assert files, f"no sources found under {SOURCE / package}"
    offenders = {
        name: uses
        for f in files
        if (name := str(f.relative_to(SOURCE))) not in EXEMPT and (uses := truth_uses(f.read_text()))
    }
    assert offenders == {}


def test_reading_truth_through_storage_or_an_engine_is_refused(province: Path) -> None:
    with pytest.raises(TruthAccessError):
        table_dir(province, f"{TRUTH_DIR}/customers")
    with connect("duckdb") as eng, pytest.raises(TruthAccessError):
        eng.table(province, f"{TRUTH_DIR}/customers")


def _falsified(province: Path, out: Path) -> Path:
    """The province with every table linked as is, and truth/ replaced by files that cannot be read."""
    out.mkdir()
    for entry in province.iterdir():
        if entry.name != TRUTH_DIR:
            (out / entry.name).symlink_to(entry)
    for part in (province / TRUTH_DIR).rglob("*"):
        target = out / TRUTH_DIR / part.relative_to(province / TRUTH_DIR)
        if part.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"not parquet: planted truth is off limits to models")
    return out


def _train_and_score(warehouse: Path) -> np.ndarray:
    with connect("duckdb") as eng:
        x_train, y_train = labelled_features(eng, warehouse, "wealth_purchase", TimeSplit(TRAIN_AS_OF, 90))
        x_test, _ = labelled_features(eng, warehouse, "wealth_purchase", TimeSplit(TEST_AS_OF, 90))
    ranker = PropensityRanker(n_estimators=20, num_leaves=7).fit(x_train, y_train)
    return BatchScorer(ranker, compile=False).score(pa.Table.from_batches(x_test.to_batches()))


def test_features_labels_training_and_scoring_do_not_depend_on_truth(province: Path, tmp_path: Path) -> None:
    falsified = _falsified(province, tmp_path / "warehouse")
    assert (falsified / TRUTH_DIR / "customers").is_dir()
    assert np.array_equal(_train_and_score(province), _train_and_score(falsified))
