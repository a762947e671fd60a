"""Vectorised helpers for the generator: string ids, event expansion and date arithmetic."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY_US = 86_400_000_000


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded string ids such as ``C000000042`` built in Arrow (fast for tens of millions)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def expand(counts: np.ndarray) -> np.ndarray:
    """Row index repeated ``counts[i]`` times: turns per-entity event counts into event rows."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def to_date32(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 (int) to an Arrow date32 array."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32())


def to_timestamp(us: np.ndarray) -> pa.Array:
    """Microseconds since 1970-01-01 local time to a zone-less Arrow timestamp array."""
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us"))


def month_starts(first_day: int, last_day: int) -> np.ndarray:
    """Day numbers of the first day of every month overlapping [first_day, last_day]."""
    first = np.datetime64(int(first_day), "D").astype("datetime64[M]")
    last = np.datetime64(int(last_day), "D").astype("datetime64[M]")
    months = np.arange(first, last + 1, dtype="datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def month_ends(starts: np.ndarray) -> np.ndarray:
    """Last day of each month whose first day is given."""
    nxt = (starts.astype("datetime64[D]").astype("datetime64[M]") + 1).astype("datetime64[D]")
    return nxt.astype(np.int64) - 1


def weighted_choice(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows, k) weight matrix; rows need not be normalised."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (cum < u[:, None]).sum(axis=1).clip(0, weights.shape[1] - 1)
