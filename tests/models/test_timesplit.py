"""Labels come from observed events strictly after the as-of date and up to T+H; splits never overlap."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from youshu.engine import Engine
from youshu.errors import YoushuError
from youshu.models.evaluation import TimeSplit, check_out_of_time, label_vector, out_of_time, window_labels
from youshu.schema.storage import write_part
from youshu.schema.tables import get_table

T = date(2025, 9, 30)

# customer, product, purchase date: K1 buys wealth on T (too early), K2 on T+1 (first day in), K3 on T+90
# (last day in), K4 on T+91 (too late), K5 buys insurance inside the window.
PURCHASES = [
    ("K1", "W1", date(2025, 9, 30)),
    ("K2", "W1", date(2025, 10, 1)),
    ("K3", "W1", date(2025, 12, 29)),
    ("K4", "W1", date(2025, 12, 30)),
    ("K5", "I1", date(2025, 11, 1)),
]
# CRM contacts (timestamps): the last second of T does not count, midnight after T does.
CONTACTS = [("K1", datetime(2025, 9, 30, 23, 59, 59)), ("K2", datetime(2025, 10, 1, 0, 0, 0))]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labels")
    purchases = pa.table(
        {
            "purchase_id": [f"P{i}" for i in range(len(PURCHASES))],
            "customer_id": [p[0] for p in PURCHASES],
            "product_id": [p[1] for p in PURCHASES],
            "purchase_date": [p[2] for p in PURCHASES],
            "amount_fen": [100_000] * len(PURCHASES),
            "channel": ["counter"] * len(PURCHASES),
            "outlet_id": ["O1"] * len(PURCHASES),
        }
    )
    products = pa.table(
        {
            "product_id": ["W1", "I1"],
            "product_name": ["理财一号", "保险一号"],
            "category": ["wealth", "insurance"],
            "risk_level": ["R2", "R1"],
            "term_days": [180, 365],
            "launch_date": [date(2024, 1, 1)] * 2,
        }
    )
    contacts = pa.table(
        {
            "contact_id": ["C1", "C2"],
            "customer_id": [c[0] for c in CONTACTS],
            "outlet_id": ["O1", "O1"],
            "staff_id": ["S1", "S1"],
            "contact_at": [c[1] for c in CONTACTS],
            "channel": ["phone", "phone"],
            "purpose": ["wealth", "wealth"],
            "outcome": ["reached", "reached"],
        }
    )
    for name, table in (("purchases", purchases), ("products", products), ("crm_contacts", contacts)):
        write_part(out / name, 0, table, get_table(name))
    return out


def _wealth_events(engine: Engine, warehouse: Path) -> ibis.Table:
    purchases = engine.table(warehouse, "purchases")
    products = engine.table(warehouse, "products").select("product_id", "category")
    return purchases.join(products, "product_id")


IDS = ["K1", "K2", "K3", "K4", "K5", "K6"]


def test_label_window_runs_from_the_day_after_as_of_to_as_of_plus_horizon() -> None:
    split = TimeSplit(T, 90)
    assert (split.label_first, split.label_last) == (date(2025, 10, 1), date(2025, 12, 29))
    assert str(split) == "features as of 2025-09-30, labels 2025-10-01..2025-12-29"


def test_label_vector_counts_only_matching_events_inside_the_window(engine: Engine, warehouse: Path) -> None:
    events = _wealth_events(engine, warehouse)
    labels = label_vector(
        engine,
        events,
        IDS,
        TimeSplit(T, 90),
        at="purchase_date",
        where=lambda e: e.category == "wealth",
        require_observed=False,
    )
    assert labels.tolist() == [0, 1, 1, 0, 0, 0]


def test_window_labels_keeps_the_population_and_adds_a_label(engine: Engine, warehouse: Path) -> None:
    events = _wealth_events(engine, warehouse)
    population = ibis.memtable({"customer_id": IDS, "segment": list("aabbcc")})
    table = window_labels(events, population, TimeSplit(T, 90), at="purchase_date", name="buys")
    frame = engine.execute(table).sort_values("customer_id")
    assert frame.columns.tolist() == ["customer_id", "segment", "buys"]
    assert frame["buys"].tolist() == [False, True, True, False, True, False]


def test_timestamps_count_from_midnight_after_the_as_of_date(engine: Engine, warehouse: Path) -> None:
    contacts = engine.table(warehouse, "crm_contacts")
    labels = label_vector(engine, contacts, ["K1", "K2"], TimeSplit(T, 1), at="contact_at")
    assert labels.tolist() == [0, 1]


def test_labels_are_refused_when_the_events_end_before_the_window_does(
    engine: Engine, warehouse: Path
) -> None:
    events = _wealth_events(engine, warehouse)
    with pytest.raises(
        YoushuError, match=r"events end on 2025-12-30, before the end of the label window 2026-01-28"
    ):
        label_vector(engine, events, IDS, TimeSplit(T, 120), at="purchase_date")


def test_out_of_time_splits_end_their_labels_before_the_next_as_of_date() -> None:
    splits = out_of_time(T, 90, folds=2)
    assert [s.as_of for s in splits] == [date(2025, 4, 3), date(2025, 7, 2), T]
    assert all(a.label_last <= b.as_of for a, b in itertools.pairwise(splits))
    with pytest.raises(YoushuError, match="labels of the split as of 2025-08-01 run to 2025-10-30"):
        check_out_of_time([TimeSplit(date(2025, 8, 1), 90), TimeSplit(T, 90)])


def test_a_datetime_as_of_or_a_zero_horizon_is_refused() -> None:
    with pytest.raises(YoushuError, match="must be a date"):
        TimeSplit(datetime(2025, 9, 30), 90)  # type: ignore[arg-type]
    with pytest.raises(YoushuError, match="horizon"):
        TimeSplit(T, 0)
