"""Visit plans (zones and routes for a circle's prospects and low-activity merchants) and the visit log."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.errors import YoushuError
from youshu.geo.circles import CircleResult, circles_from_frames
from youshu.geo.visits import VisitLog, conversion_by_zone, plan_visits, visit_candidates

from .conftest import AS_OF, offset, scattered_merchants


@pytest.fixture
def circles() -> CircleResult:
    """Two outlets 2 km apart; 160 merchants around the first (half acquired, QR counts 0-39)."""
    outlets = pd.DataFrame(
        {
            "outlet_id": ["OA", "OB"],
            "outlet_name": ["甲网点", "乙网点"],
            "lat": [30.0, offset(30.0, 104.0, 90, 2000)[0]],
            "lon": [104.0, offset(30.0, 104.0, 90, 2000)[1]],
        }
    )
    return circles_from_frames(outlets, scattered_merchants(30.0, 104.0, 160, 2800, seed=7), AS_OF, 3.0)


def test_candidates_are_home_prospects_and_low_activity_merchants(circles: CircleResult) -> None:
    members = circles.circle("OA")
    candidates = visit_candidates(circles, "OA")
    expected = members[members["is_home"] & (~members["is_acquired"] | members["is_low_activity"])]
    assert set(candidates["merchant_id"]) == set(expected["merchant_id"])
    assert (candidates.loc[candidates["is_acquired"], "reason"] == "low_activity").all()
    assert (candidates.loc[~candidates["is_acquired"], "reason"] == "prospect").all()
    assert not candidates["is_effective"].any()
    shared = visit_candidates(circles, "OA", include_shared=True)
    assert len(shared) > len(candidates)


def test_plan_covers_every_candidate_once_in_balanced_zones(circles: CircleResult) -> None:
    plan = plan_visits(
        circles, "OA", ["S1", "S2", "S3"], stops_per_day=6, time_limit_s=0.3, start_date=date(2025, 10, 3)
    )
    visits = plan.visits.to_pandas()
    candidates = visit_candidates(circles, "OA")
    assert sorted(visits["merchant_id"]) == sorted(candidates["merchant_id"])
    sizes = visits.groupby("staff_id").size()
    share = len(visits) / 3
    assert set(sizes.index) == {"S1", "S2", "S3"}
    assert (np.abs(sizes - share) <= max(0.1 * share, 1)).all()
    per_day = visits.groupby(["staff_id", "day"]).size()
    assert per_day.max() <= 6
    # Working days from the start date: Friday 3 October, then Monday 6 October.
    first_days = sorted(set(visits["planned_date"]))[:2]
    assert first_days == [date(2025, 10, 3), date(2025, 10, 6)]
    assert visits["visit_id"].is_unique and (visits["plan_id"] == plan.plan_id).all()
    zones = plan.zones.set_index("staff_id")
    assert (zones["route_m"] <= zones["nearest_neighbour_m"]).all()
    assert zones["stops"].sum() == len(visits)


def test_plan_needs_enough_candidates(circles: CircleResult) -> None:
    with pytest.raises(YoushuError, match=r"merchants to visit .* for a team of 500"):
        plan_visits(circles, "OA", 500, time_limit_s=0.1)


def test_log_stores_plans_and_results_and_feeds_them_back(circles: CircleResult, tmp_path: Path) -> None:
    log = VisitLog(tmp_path / "visits")
    plan = plan_visits(circles, "OA", 2, log=log, time_limit_s=0.2, planned_at=datetime(2025, 10, 1, 9))
    log.add_plan(plan)
    with pytest.raises(YoushuError, match="already in the visit log"):
        log.add_plan(plan)
    visits = plan.visits.to_pandas()
    prospects = visits[visits["reason"] == "prospect"]
    low = visits[visits["reason"] == "low_activity"]
    results = pd.DataFrame(
        {
            "visit_id": [
                prospects["visit_id"].iloc[0],
                prospects["visit_id"].iloc[1],
                low["visit_id"].iloc[0],
                prospects["visit_id"].iloc[2],
            ],
            "visited_date": ["2025-10-02"] * 4,
            "result": ["signed", "declined", "activated", "not_met"],
        }
    )
    log.record(results)
    latest = log.latest_results()
    assert len(latest) == 4
    # Signed/activated merchants are not planned again; a decline rests for the cooldown.
    again = visit_candidates(circles, "OA", log=log, cooldown_days=30)
    dropped = set(visit_candidates(circles, "OA")["merchant_id"]) - set(again["merchant_id"])
    assert dropped == set(visits.set_index("visit_id").loc[results["visit_id"].iloc[:3], "merchant_id"])
    declined = prospects["merchant_id"].iloc[1]
    assert declined not in set(
        visit_candidates(circles, "OA", log=log, start_date=date(2025, 10, 31))["merchant_id"]
    )
    assert declined in set(
        visit_candidates(circles, "OA", log=log, start_date=date(2025, 11, 3))["merchant_id"]
    )
    # A later plan gets the next id for the same start date.
    second = plan_visits(circles, "OA", 2, log=log, time_limit_s=0.2)
    assert second.plan_id.endswith("-2") and len(second.visits) == len(visits) - 3


def test_conversion_per_zone_counts_recorded_and_observed_outcomes(
    circles: CircleResult, tmp_path: Path
) -> None:
    log = VisitLog(tmp_path / "visits")
    plan = plan_visits(circles, "OA", 2, time_limit_s=0.2)
    log.add_plan(plan)
    visits = plan.visits.to_pandas()
    zone1 = visits[(visits["zone"] == 1) & (visits["reason"] == "prospect")]
    log.record(
        pd.DataFrame(
            {
                "visit_id": zone1["visit_id"].iloc[:2],
                "visited_date": "2025-10-02",
                "result": ["signed", "not_met"],
            }
        )
    )
    log.record(
        pd.DataFrame(
            {"visit_id": zone1["visit_id"].iloc[1:2], "visited_date": "2025-10-09", "result": ["interested"]}
        )
    )
    report = conversion_by_zone(log, plan.plan_id).set_index("zone")
    planned = visits.groupby("zone").size()
    assert (report["planned"] == planned).all()
    assert report.loc[1, "visited"] == 2 and report.loc[1, "converted"] == 1
    assert report.loc[1, "conversion"] == pytest.approx(1 / planned[1])
    assert report.loc[2, "converted"] == 0
    # Observed later: the signed prospect is acquired in the later circles.
    members = circles.members.to_pandas()
    signed = zone1["merchant_id"].iloc[0]
    later_frame = members.drop_duplicates("merchant_id")[
        ["merchant_id", "merchant_name", "category", "lat", "lon", "is_acquired", "qr_payments"]
    ].copy()
    later_frame.loc[later_frame["merchant_id"] == signed, ["is_acquired", "qr_payments"]] = [True, 9]
    outlets = circles.summary.to_pandas()[["outlet_id", "outlet_name", "lat", "lon"]]
    later = circles_from_frames(outlets, later_frame, date(2025, 12, 31), 3.0)
    observed = conversion_by_zone(log, plan.plan_id, later).set_index("zone")
    assert observed.loc[1, "observed_converted"] >= 1
    with pytest.raises(YoushuError, match="plan 'nope' is not in the visit log"):
        conversion_by_zone(log, "nope")


def test_recording_checks_visit_ids_and_results(circles: CircleResult, tmp_path: Path) -> None:
    log = VisitLog(tmp_path / "visits")
    plan = plan_visits(circles, "OA", 1, time_limit_s=0.2)
    log.add_plan(plan)
    vid = plan.visits.column("visit_id")[0].as_py()
    with pytest.raises(YoushuError, match="row 0: visit_id 'X' is not in any plan"):
        log.record(pd.DataFrame({"visit_id": ["X"], "visited_date": ["2025-10-02"], "result": ["signed"]}))
    with pytest.raises(YoushuError, match="row 0: result 'won' is not one of"):
        log.record(pd.DataFrame({"visit_id": [vid], "visited_date": ["2025-10-02"], "result": ["won"]}))
    with pytest.raises(YoushuError, match="before its plan was made"):
        log.record(pd.DataFrame({"visit_id": [vid], "visited_date": ["2025-01-02"], "result": ["signed"]}))
    assert log.results().empty
