"""Running the given/expect tests of tag definitions, in-process on DuckDB."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis
import pyarrow as pa

from youshu.engine import connect
from youshu.engine.base import Engine
from youshu.tags.compiler import FEATURE_DTYPES, TagSet
from youshu.tags.definitions import ScalarValue, TagDefinition, TagTest, coerce_feature, expect_problem

#: Relative and absolute tolerance when a score is compared with its expected value.
SCORE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TestResult:
    """The outcome of one given/expect test.

    Attributes
    ----------
    tag_id, test : str
        The tag and the test's name.
    file : Path or None
        The definition's file.
    passed : bool
    expected, actual : object
        The expected value and the value the tag gave (None for null, or when evaluation failed).
    message : str
        Empty when passed; otherwise what failed, naming the file, the tag and the test.
    """

    __test__ = False  # not a pytest test class

    tag_id: str
    test: str
    file: Path | None
    passed: bool
    expected: object
    actual: object
    message: str = ""


def run_tests(tagset: TagSet, *, tags: Iterable[str] | None = None) -> list[TestResult]:
    """Evaluate every definition's tests: one row from ``given`` (other features null), compare with ``expect``.

    All tests of one entity run as one DuckDB query (one row per test); if that query fails, each test runs
    alone so the failure is pinned to its test.

    Parameters
    ----------
    tagset : TagSet
        From ``load_definitions``.
    tags : iterable of str, optional
        Run only these tags' tests (all when omitted).

    Returns
    -------
    list of TestResult
        One per test, in the tag set's order; ``passed`` is False with a ``message`` for a failure.

    Examples
    --------
    >>> failed = [r for r in run_tests(tagset) if not r.passed]  # doctest: +SKIP
    >>> print("\\n".join(r.message for r in failed))  # doctest: +SKIP
    """
    wanted = None if tags is None else {tagset[t].id for t in tags}
    cases = [(d, t) for d in tagset if wanted is None or d.id in wanted for t in d.tests]
    results: dict[tuple[str, str], TestResult] = {}
    with connect("duckdb") as eng:
        for entity in sorted({d.entity for d, _ in cases}):
            batch = [(d, t) for d, t in cases if d.entity == entity]
            for result in _run_entity(eng, tagset, entity, batch):
                results[(result.tag_id, result.test)] = result
    return [results[(d.id, t.name)] for d, t in cases]


def _run_entity(
    eng: Engine, tagset: TagSet, entity: str, batch: Sequence[tuple[TagDefinition, TagTest]]
) -> list[TestResult]:
    try:
        values = _evaluate(eng, tagset, entity, batch)
    except Exception as exc:  # any engine error: a row of one test broke the query
        if len(batch) > 1:  # run each test alone to pin the failure on its test
            return [r for case in batch for r in _run_entity(eng, tagset, entity, [case])]
        d, test = batch[0]
        message = f"evaluation failed: {type(exc).__name__}: {_first_line(exc)}"
        return [_result(tagset, d, test, None, message)]
    return [_check(tagset, d, test, actual) for (d, test), actual in zip(batch, values, strict=True)]


def _evaluate(
    eng: Engine, tagset: TagSet, entity: str, batch: Sequence[tuple[TagDefinition, TagTest]]
) -> list[ScalarValue]:
    schema = tagset.feature_schemas[entity]
    columns: dict[str, list[ScalarValue]] = {
        name: [coerce_feature(t.given.get(name), dtype) for _, t in batch] for name, dtype in schema.items()
    }
    arrow_schema = pa.schema(
        [(name, FEATURE_DTYPES[dtype].to_pyarrow()) for name, dtype in schema.items()]
        + [("_youshu_test_row", pa.int64())]
    )
    rows = pa.table({**columns, "_youshu_test_row": list(range(len(batch)))}, schema=arrow_schema)
    features = ibis.memtable(rows)
    tagged = tagset.compile(features, entity, tags={d.id for d, _ in batch})
    ids = sorted({d.id for d, _ in batch})
    result = eng.to_pyarrow(tagged.select("_youshu_test_row", *ids).order_by("_youshu_test_row"))
    table = result.to_pydict()
    return [table[d.id][i] for i, (d, _) in enumerate(batch)]


def _check(tagset: TagSet, d: TagDefinition, test: TagTest, actual: ScalarValue) -> TestResult:
    expected = test.expect
    if expected is None or actual is None:
        ok = expected is None and actual is None
    elif d.kind == "score":
        assert isinstance(actual, int | float) and isinstance(expected, int | float)
        ok = math.isclose(actual, expected, rel_tol=SCORE_TOLERANCE, abs_tol=SCORE_TOLERANCE)
    else:
        ok = actual == expected
    if not ok:
        return _result(tagset, d, test, actual, f"expected {_show(expected)}, got {_show(actual)}")
    problem = expect_problem(d, actual)
    if problem:  # right value per the test, but outside the tag's declared values or range
        return _result(tagset, d, test, actual, problem)
    return _result(tagset, d, test, actual, "")


def _result(tagset: TagSet, d: TagDefinition, test: TagTest, actual: object, failure: str) -> TestResult:
    file = tagset.source(d.id)
    message = ""
    if failure:
        where = f"{file}: " if file is not None else ""
        message = f"{where}tag {d.id}: test {test.name!r}: {failure}"
    return TestResult(d.id, test.name, file, not failure, test.expect, actual, message)


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
