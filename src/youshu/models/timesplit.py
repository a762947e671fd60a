"""Time splits: features as of T, labels from observed events in (T, T+H], and out-of-time validation."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from youshu.errors import YoushuError

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = ["EventFilter", "TimeSplit", "check_out_of_time", "label_vector", "out_of_time", "window_labels"]

#: A condition on the event table (e.g. ``lambda e: e.category == "wealth"``) or None for every event.
EventFilter = Callable[[ir.Table], ir.BooleanValue] | None


@dataclass(frozen=True)
class TimeSplit:
    """Features as of ``as_of`` (T); labels from events in the ``horizon_days`` days after it, (T, T+H].

    Attributes
    ----------
    as_of : date
        T: features use data up to the end of this day.
    horizon_days : int
        H, in days: an event on day T+1 up to day T+H (both inclusive) is a positive.

    Examples
    --------
    >>> split = TimeSplit(date(2025, 9, 30), 90)
    >>> split.label_first, split.label_last
    (datetime.date(2025, 10, 1), datetime.date(2025, 12, 29))
    """

    as_of: date
    horizon_days: int = 90

    def __post_init__(self) -> None:
        if isinstance(self.as_of, datetime) or not isinstance(self.as_of, date):
            raise YoushuError(f"the as-of date must be a date such as date(2025, 9, 30), got {self.as_of!r}")
        if not isinstance(self.horizon_days, int) or self.horizon_days < 1:
            raise YoushuError(
                f"the label horizon must be a whole number of days >= 1, got {self.horizon_days!r}"
            )

    @property
    def label_first(self) -> date:
        """The first day of the label window (T+1)."""
        return self.as_of + timedelta(days=1)

    @property
    def label_last(self) -> date:
        """The last day of the label window (T+H)."""
        return self.as_of + timedelta(days=self.horizon_days)

    def window_filter(self, at: ir.Value) -> ir.BooleanValue:
        """Whether ``at`` (a date or timestamp column) falls in (T, T+H]."""
        if at.type().is_timestamp():
            start = datetime.combine(self.label_first, time())
            end = datetime.combine(self.label_last + timedelta(days=1), time())
            return (at >= start) & (at < end)
        return (at >= self.label_first) & (at <= self.label_last)

    def __str__(self) -> str:
        return f"features as of {self.as_of}, labels {self.label_first}..{self.label_last}"


def out_of_time(as_of: date, horizon_days: int = 90, *, folds: int = 1, gap_days: int = 0) -> list[TimeSplit]:
    """Earlier splits for training and validation whose label windows end on or before ``as_of``.

    Parameters
    ----------
    as_of : date
        The as-of date of the split to be scored (or tested); it is the last element of the result.
    horizon_days : int
        H, the label window of every split.
    folds : int
        How many earlier splits, each ``horizon_days + gap_days`` before the next.
    gap_days : int
        Extra days between one split's label window and the next split's as-of date.

    Returns
    -------
    list of TimeSplit
        Oldest first; ``folds + 1`` splits. No split's labels reach past the next split's as-of date, so a
        model trained on earlier splits never sees the outcomes it is tested on.

    Examples
    --------
    >>> [s.as_of for s in out_of_time(date(2025, 9, 30), 90)]
    [datetime.date(2025, 7, 2), datetime.date(2025, 9, 30)]
    """
    if folds < 1 or gap_days < 0:
        raise YoushuError(
            f"out_of_time needs folds >= 1 and gap_days >= 0, got folds={folds}, gap_days={gap_days}"
        )
    step = timedelta(days=horizon_days + gap_days)
    splits = [TimeSplit(as_of - step * k, horizon_days) for k in range(folds, -1, -1)]
    check_out_of_time(splits)
    return splits


def check_out_of_time(splits: Sequence[TimeSplit]) -> None:
    """Raise unless every split's label window ends on or before the next split's as-of date.

    Raises
    ------
    YoushuError
        Naming the two splits that overlap (a model trained on the first would see the second's outcomes).
    """
    for earlier, later in itertools.pairwise(splits):
        if earlier.label_last > later.as_of:
            raise YoushuError(
                f"labels of the split as of {earlier.as_of} run to {earlier.label_last}, after the as-of date "
                f"{later.as_of} of the next split: move the earlier split back or shorten its horizon"
            )


def _in_window(events: ir.Table, split: TimeSplit, at: str, where: EventFilter) -> ir.Table:
    if at not in events.columns:
        raise YoushuError(f"the event table has no time column {at!r}; it has {list(events.columns)}")
    inside = events.filter(split.window_filter(events[at]))
    return inside.filter(where(inside)) if where is not None else inside


def window_labels(
    events: ir.Table,
    population: ir.Table,
    split: TimeSplit,
    *,
    key: str = "customer_id",
    at: str,
    where: EventFilter = None,
    name: str = "label",
) -> ir.Table:
    """``population`` with a boolean ``name`` column: whether it has an event in (T, T+H].

    Parameters
    ----------
    events : ibis.Table
        Observed events (e.g. ``purchases`` joined to ``products``), with ``key`` and the time column ``at``.
    population : ibis.Table
        One row per entity to label (e.g. the feature table as of T), with ``key``.
    split : TimeSplit
        The label window.
    key : str
        The entity id in both tables.
    at : str
        The event's date or timestamp column.
    where : callable, optional
        A condition on ``events`` selecting the events that count.
    name : str
        The label column's name.

    Returns
    -------
    ibis.Table
        Every row and column of ``population`` plus ``name`` (never null), on the engine of the inputs.
    """
    hits = _in_window(events, split, at, where).select(key).distinct()
    hits = hits.mutate(**{f"_{name}_hit": ibis.literal(True)}).view()
    joined = population.left_join(hits, population[key] == hits[key])
    flag = joined[f"_{name}_hit"].fill_null(False).name(name)
    return joined.select(*[population[c] for c in population.columns], flag)


def label_vector(
    engine: Engine,
    events: ir.Table,
    ids: Sequence[str] | np.ndarray | pa.Array | pa.ChunkedArray,
    split: TimeSplit,
    *,
    key: str = "customer_id",
    at: str,
    where: EventFilter = None,
    require_observed: bool = True,
) -> np.ndarray:
    """A 0/1 label per id in ``ids`` (same order): 1 when the entity has a matching event in (T, T+H].

    Parameters
    ----------
    engine : Engine
        Runs the query.
    events, key, at, where
        As in :func:`window_labels`.
    ids : sequence of str
        The entities to label, e.g. the id column of a feature table as of T.
    split : TimeSplit
        The label window.
    require_observed : bool
        Raise when the event table ends before T+H (its latest ``at`` is earlier): late labels would be
        missing, not negative.

    Returns
    -------
    numpy.ndarray of int8

    Raises
    ------
    YoushuError
        When the table has no rows reaching the end of the window (with ``require_observed``).
    """
    if at not in events.columns:
        raise YoushuError(f"the event table has no time column {at!r}; it has {list(events.columns)}")
    if require_observed:
        latest = engine.execute(events[at].max().name("latest")).iloc[0, 0]
        last_day = None if latest is None or latest != latest else _to_date(latest)
        if last_day is None or last_day < split.label_last:
            raise YoushuError(
                f"events end on {last_day}, before the end of the label window {split.label_last} ({split}): "
                "choose an earlier as-of date or a shorter horizon, or pass require_observed=False"
            )
    hits = engine.to_pyarrow(_in_window(events, split, at, where).select(key).distinct()).column(0)
    if isinstance(ids, pa.ChunkedArray | pa.Array):
        values = ids
    else:
        values = pa.array(np.asarray(ids, dtype=object).tolist(), type=pa.string())
    if values.type != hits.type:
        values = values.cast(hits.type)
    found = pc.fill_null(pc.is_in(values, value_set=hits.combine_chunks()), False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int8)


def _to_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, np.datetime64):
        return _to_date(value.astype("datetime64[us]").item())
    raise YoushuError(f"cannot read {value!r} as a date")
