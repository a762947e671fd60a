"""FeatureEncoder: the block-filled model matrix equals a cell-by-cell reference on nulls, unseen categories,
bools, ints, floats and dates, across block and batch edges."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest

from youshu.errors import YoushuError
from youshu.models.encoding import BLOCK_ROWS, FeatureEncoder, fill_rows, row_blocks

EPOCH = dt.date(1970, 1, 1)


def make_table(n: int, seed: int, *, occupations: list[str | None]) -> pa.Table:
    """Every kind of feature column, each with nulls."""
    rng = np.random.default_rng(seed)

    def with_nulls(values: list[object], share: float = 0.1) -> list[object]:
        return [None if rng.random() < share else v for v in values]

    return pa.table(
        {
            "customer_id": [f"C{i:07d}" for i in range(n)],
            "balance_fen": pa.array(with_nulls(rng.integers(-(10**12), 10**12, n).tolist()), pa.int64()),
            "txn_count_90d": pa.array(rng.integers(0, 200, n).astype(np.int32)),  # no nulls: zero-copy path
            "share_mobile": pa.array(with_nulls(rng.random(n).tolist()), pa.float64()),
            "score_f32": pa.array(with_nulls(rng.random(n).astype(np.float32).tolist()), pa.float32()),
            "has_payroll": pa.array(with_nulls((rng.random(n) < 0.3).tolist())),
            "is_rural": pa.array((rng.random(n) < 0.5).tolist()),  # bool without nulls
            "occupation": pa.array(with_nulls(rng.choice(occupations, n).tolist()), pa.string()),
            "age_band": pa.array(rng.choice(["young", "middle", "old"], n)).dictionary_encode(),
            "opened_date": pa.array(
                with_nulls([EPOCH + dt.timedelta(days=int(d)) for d in rng.integers(0, 20000, n)]),
                pa.date32(),
            ),
        }
    )


def reference(encoder: FeatureEncoder, table: pa.Table) -> np.ndarray:
    """The matrix the encoding promises, cell by cell from Python values (independent of the fast path)."""
    rows = table.num_rows
    out = np.full((rows, len(encoder.columns)), np.nan)
    for j, name in enumerate(encoder.columns):
        kind = encoder.kinds[name]
        codes = {c: i for i, c in enumerate(encoder.categories.get(name, []))}
        for i, value in enumerate(table.column(name).to_pylist()):
            if value is None:
                continue
            if kind == "category":
                out[i, j] = codes.get(value, math.nan)
            elif kind == "date":
                out[i, j] = (value - EPOCH).days
            else:
                out[i, j] = float(value)
    return out


@pytest.fixture(scope="module")
def encoder() -> FeatureEncoder:
    train = make_table(3000, seed=1, occupations=["farmer", "worker", "retiree"])
    return FeatureEncoder.learn(train)


def test_learned_kinds_cover_every_column_kind(encoder: FeatureEncoder) -> None:
    assert encoder.kinds == {
        "balance_fen": "number",
        "txn_count_90d": "number",
        "share_mobile": "number",
        "score_f32": "number",
        "has_payroll": "bool",
        "is_rural": "bool",
        "occupation": "category",
        "age_band": "category",
        "opened_date": "date",
    }


def test_matrix_equals_the_reference_across_blocks_with_nulls_and_unseen_categories(
    encoder: FeatureEncoder,
) -> None:
    # "merchant_owner" was never seen in training: its code must be NaN, like null.
    table = make_table(2 * BLOCK_ROWS + 37, seed=2, occupations=["farmer", "retiree", "merchant_owner"])
    matrix = encoder.transform(table)
    expected = reference(encoder, table)
    assert matrix.dtype == np.float64 and matrix.flags.c_contiguous
    assert matrix.shape == expected.shape
    np.testing.assert_array_equal(matrix, expected)  # NaN positions must match too
    occupation = matrix[:, encoder.columns.index("occupation")]
    unseen = np.array(table.column("occupation").to_pylist(), dtype=object) == "merchant_owner"
    assert unseen.any() and np.isnan(occupation[unseen]).all()


def test_row_blocks_equal_the_whole_matrix_and_are_row_major(encoder: FeatureEncoder) -> None:
    table = make_table(BLOCK_ROWS + 11, seed=3, occupations=["worker", "retiree"])
    columns = encoder.encode_columns(table)
    whole = reference(encoder, table)
    seen = []
    for lo, hi, block in row_blocks(columns, table.num_rows, rows=1000):
        assert block.flags.c_contiguous and block.dtype == np.float64 and block.shape == (hi - lo, 9)
        np.testing.assert_array_equal(block, whole[lo:hi])
        seen.append((lo, hi))
    n = BLOCK_ROWS + 11
    assert seen == [(lo, min(lo + 1000, n)) for lo in range(0, n, 1000)]


def test_batches_encode_like_the_table(encoder: FeatureEncoder) -> None:
    table = make_table(5000, seed=4, occupations=["farmer", "worker"])
    parts = [encoder.transform(batch) for batch in table.to_batches(max_chunksize=1234)]
    np.testing.assert_array_equal(np.vstack(parts), encoder.transform(table))
    np.testing.assert_array_equal(encoder.transform(table.to_pandas()), reference(encoder, table))


def test_large_integers_keep_their_float64_value(encoder: FeatureEncoder) -> None:
    table = make_table(3, seed=5, occupations=["farmer"])
    big = pa.array([2**53 + 1, -(2**60), 7], pa.int64())
    table = table.set_column(table.schema.get_field_index("balance_fen"), "balance_fen", big)
    column = encoder.transform(table)[:, encoder.columns.index("balance_fen")]
    assert column.tolist() == [float(2**53 + 1), float(-(2**60)), 7.0]


def test_fill_rows_writes_only_the_rows_asked_for() -> None:
    columns = [np.arange(10, dtype=np.int64), np.array([True, False] * 5), np.linspace(0, 1, 10)]
    out = np.full((8, 3), -1.0)
    part = fill_rows(columns, 3, 7, out)
    assert part.shape == (4, 3)
    np.testing.assert_array_equal(part, np.column_stack([c[3:7].astype(float) for c in columns]))
    assert (out[4:] == -1.0).all()


def test_missing_and_retyped_columns_are_named(encoder: FeatureEncoder) -> None:
    table = make_table(10, seed=6, occupations=["farmer"])
    with pytest.raises(YoushuError, match="share_mobile"):
        encoder.transform(table.drop_columns(["share_mobile"]))
    text = pa.array(["a"] * 10)
    retyped = table.set_column(table.schema.get_field_index("txn_count_90d"), "txn_count_90d", text)
    with pytest.raises(YoushuError, match="'txn_count_90d' held numbers"):
        encoder.transform(retyped)
