"""Circles: members within R km by exact geodesic, per-circle counts and volumes, home outlets, real POIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from youshu.errors import YoushuError
from youshu.geo.circles import CATEGORIES, circles_from_frames, load_circles, load_extra
from youshu.geo.coords import wgs84_to_bd09, wgs84_to_gcj02
from youshu.schema.enums import MERCHANT_CATEGORY_ZH

from .conftest import AS_OF, GEOD, offset, scattered_merchants

POI_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "poi"


def _outlets(points: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outlet_id": [f"O{i}" for i in range(len(points))],
            "outlet_name": [f"网点{i}" for i in range(len(points))],
            "lat": [p[0] for p in points],
            "lon": [p[1] for p in points],
        }
    )


@pytest.fixture
def town() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three outlets 2.5 km apart (overlapping 3 km circles) and 400 merchants around them."""
    centre = (30.0, 104.0)
    outlets = _outlets([centre, offset(*centre, 90, 2500), offset(*centre, 0, 2500)])
    merchants = scattered_merchants(*centre, 400, 6000, seed=2)
    return outlets, merchants


def _distances(outlets: pd.DataFrame, merchants: pd.DataFrame) -> np.ndarray:
    o, m = len(outlets), len(merchants)
    _, _, d = GEOD.inv(
        np.repeat(outlets["lon"].to_numpy(), m),
        np.repeat(outlets["lat"].to_numpy(), m),
        np.tile(merchants["lon"].to_numpy(), o),
        np.tile(merchants["lat"].to_numpy(), o),
    )
    return d.reshape(o, m)


def test_members_are_every_merchant_within_the_radius(town: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outlets, merchants = town
    result = circles_from_frames(outlets, merchants, AS_OF, 3.0)
    d = _distances(outlets, merchants)
    members = result.members.to_pandas()
    for i, oid in enumerate(outlets["outlet_id"]):
        expected = set(merchants["merchant_id"][d[i] <= 3000.0])
        assert set(members.loc[members["outlet_id"] == oid, "merchant_id"]) == expected
    merged = members.merge(merchants[["merchant_id"]].reset_index(), on="merchant_id")
    oi = merged["outlet_id"].str[1:].astype(int).to_numpy()
    assert np.max(np.abs(merged["distance_m"].to_numpy() - d[oi, merged["index"].to_numpy()])) < 1.0


def test_summary_counts_penetration_effective_and_volumes(town: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outlets, merchants = town
    result = circles_from_frames(outlets, merchants, AS_OF, 3.0, effective_min_payments=10)
    d = _distances(outlets, merchants)
    summary = result.summary.to_pandas().set_index("outlet_id")
    for i, oid in enumerate(outlets["outlet_id"]):
        inside = merchants[d[i] <= 3000.0]
        acquired = inside["is_acquired"]
        row = summary.loc[oid]
        assert row["merchants"] == len(inside)
        assert row["acquired_merchants"] == acquired.sum()
        assert row["prospect_merchants"] == (~acquired).sum()
        assert row["penetration"] == pytest.approx(acquired.mean())
        assert row["effective_merchants"] == (acquired & (inside["qr_payments"] >= 10)).sum()
        assert row["low_activity_merchants"] == (acquired & (inside["qr_payments"] < 10)).sum()
        assert row["qr_amount_fen"] == inside.loc[acquired, "qr_amount_fen"].sum()
        assert row["deposit_fen"] == inside.loc[acquired, "deposit_fen"].sum()
        shared = (d[:, d[i] <= 3000.0] <= 3000.0).sum(axis=0) > 1
        assert row["shared_merchants"] == shared.sum()
    assert summary["shared_merchants"].sum() > 0  # the circles do overlap


def test_counts_by_category_carry_chinese_names(town: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outlets, merchants = town
    result = circles_from_frames(outlets, merchants, AS_OF, 3.0)
    cats = result.categories.to_pandas()
    assert len(cats) == len(outlets) * len(CATEGORIES)
    assert dict(zip(cats["category"], cats["category_zh"], strict=True)) == MERCHANT_CATEGORY_ZH
    members = result.members.to_pandas()
    expected = members.groupby(["outlet_id", "category"]).size()
    got = cats.set_index(["outlet_id", "category"])["merchants"]
    assert (got[got > 0] == expected.reindex(got[got > 0].index)).all()
    assert got.sum() == len(members)
    o0 = cats[(cats["outlet_id"] == "O0") & (cats["category"] == "food")].iloc[0]
    assert o0["category_zh"] == "餐饮美食" and o0["merchants"] > 0


def test_home_outlet_is_the_acquiring_outlet_else_the_nearest(
    town: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    outlets, merchants = town
    merchants = merchants.copy()
    merchants.loc[0, ["is_acquired", "acquiring_outlet_id"]] = [True, "O2"]
    merchants.loc[1, ["is_acquired", "acquiring_outlet_id"]] = [False, None]
    result = circles_from_frames(outlets, merchants, AS_OF, 3.0)
    homes = result.merchant_home.to_pandas().set_index("merchant_id")
    d = _distances(outlets, merchants)
    assert homes.loc["M00000", "home_outlet_id"] == "O2"
    assert homes.loc["M00000", "home_rule"] == "acquiring"
    assert homes.loc["M00000", "home_distance_m"] == pytest.approx(d[2, 0], abs=1.0)
    assert homes.loc["M00001", "home_outlet_id"] == f"O{d[:, 1].argmin()}"
    assert homes.loc["M00001", "home_rule"] == "nearest"
    prospects = ~merchants["is_acquired"].to_numpy()
    nearest = np.array([f"O{i}" for i in d.argmin(axis=0)])
    assert (homes["home_outlet_id"].to_numpy()[prospects] == nearest[prospects]).all()
    # Each member row says whether the circle is the merchant's home; a merchant is home in at most one.
    members = result.members.to_pandas()
    assert members.groupby("merchant_id")["is_home"].sum().max() == 1
    assert (members["is_home"] == (members["outlet_id"] == members["home_outlet_id"])).all()
    summary = result.summary.to_pandas()
    assert summary["home_merchants"].sum() == homes["in_home_circle"].sum()


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_gcj02_and_bd09_merchant_inputs_are_converted(system: str) -> None:
    # Outlet in WGS-84 (the warehouse); merchants from a map export in GCJ-02 or BD-09, 100 m inside and
    # outside the radius. Their offset (several hundred metres) would move them across the boundary.
    centre = (39.9087, 116.3975)
    outlets = _outlets([centre])
    truth = [offset(*centre, az, 3000 + delta) for az in (90, 270) for delta in (-100, 100)]
    lat = np.array([p[0] for p in truth])
    lon = np.array([p[1] for p in truth])
    convert = wgs84_to_gcj02 if system == "gcj02" else wgs84_to_bd09
    m_lat, m_lon = convert(lat, lon)
    merchants = pd.DataFrame(
        {
            "merchant_id": ["E_in", "E_out", "W_in", "W_out"],
            "category": "food",
            "lat": m_lat,
            "lon": m_lon,
            "is_acquired": False,
        }
    )
    result = circles_from_frames(outlets, merchants, AS_OF, 3.0, merchant_coords=system)
    members = result.members.to_pandas().set_index("merchant_id")
    assert sorted(members.index) == ["E_in", "W_in"]
    assert members.loc["E_in", "distance_m"] == pytest.approx(2900.0, abs=1.0)
    assert members.loc["E_in", "lat"] == pytest.approx(lat[0], abs=1e-6)
    # Read as WGS-84, the same inputs give other members: the conversion is what makes them right.
    raw = circles_from_frames(outlets, merchants, AS_OF, 3.0).members.to_pandas()
    assert sorted(raw["merchant_id"]) != ["E_in", "W_in"]


def _pois() -> pd.DataFrame:
    if not POI_DIR.is_dir():
        pytest.skip(f"real POI samples not found at {POI_DIR} (see ../shared/data/poi/SOURCE_AND_LICENSE.md)")
    mapping = {
        "restaurant_food": "food",
        "specialty_market_retail": "specialty_market",
        "everyday_service": "daily_services",
        "other_retail": "retail",
        "other_amenity": "other",
        "public_facility": "other",
    }
    osm = pd.read_csv(POI_DIR / "osm_cn_sample_pois.csv", dtype={"osm_id": str})
    hk = pd.read_csv(POI_DIR / "hk_fehd_facilities.csv")
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "merchant_id": "OSM" + osm["osm_id"],
                    "merchant_name": osm["name"].fillna(osm["name_en"]).fillna(""),
                    "lat": osm["lat"],
                    "lon": osm["lon"],
                    "source_category": osm["category"],
                }
            ),
            pd.DataFrame(
                {
                    "merchant_id": "HK" + hk["gmid"],
                    "merchant_name": hk["name_tc"],
                    "lat": hk["lat"],
                    "lon": hk["lon"],
                    "source_category": hk["category"],
                }
            ),
        ],
        ignore_index=True,
    )
    frame["category"] = frame["source_category"].map(mapping)
    frame["is_acquired"] = False
    return frame


def test_circles_over_real_pois_with_outlets_placed_by_the_test() -> None:
    # Real points (WGS-84; © OpenStreetMap contributors, ODbL; HK FEHD via DATA.GOV.HK): outlets in
    # Shanghai (People's Square), Beijing (Wangfujing) and two in Hong Kong 4 km apart (Central, Mong Kok).
    pois = _pois()
    places = [(31.2304, 121.4737), (39.9149, 116.4105), (22.2819, 114.1582), (22.3193, 114.1694)]
    outlets = _outlets(places)
    result = circles_from_frames(outlets, pois, AS_OF, 3.0)
    d = _distances(outlets, pois)
    members = result.members.to_pandas()
    for i, oid in enumerate(outlets["outlet_id"]):
        got = set(members.loc[members["outlet_id"] == oid, "merchant_id"])
        assert got == set(pois["merchant_id"][d[i] <= 3000.0])
        assert len(got) > 0, oid
    summary = result.summary.to_pandas().set_index("outlet_id")
    # Hong Kong's markets: some lie in both Central's and Mong Kok's circles; each has one home, the nearer.
    shared = members[members["outlet_id"].isin(["O2", "O3"])].groupby("merchant_id").size()
    assert (shared == 2).any()
    assert summary.loc["O2", "shared_merchants"] == (shared == 2).sum()
    homes = result.merchant_home.to_pandas().set_index("merchant_id")
    both = shared[shared == 2].index
    nearer = np.where(
        d[2, pois.set_index("merchant_id").index.get_indexer(both)]
        <= d[3, pois.set_index("merchant_id").index.get_indexer(both)],
        "O2",
        "O3",
    )
    assert (homes.loc[both, "home_outlet_id"].to_numpy() == nearer).all()
    cats = result.categories.to_pandas()
    hk_markets = cats[(cats["outlet_id"].isin(["O2", "O3"])) & (cats["category"] == "specialty_market")]
    assert hk_markets["merchants"].sum() > 0
    assert (summary["penetration"] == 0).all()  # no POI is acquired


def test_results_round_trip_through_parquet(town: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    outlets, merchants = town
    result = circles_from_frames(outlets, merchants, AS_OF, 2.0)
    folder = result.write(tmp_path / "circles", extra_tables={"extra": result.summary.select(["outlet_id"])})
    back = load_circles(folder)
    assert back.radius_km == 2.0 and back.as_of == AS_OF
    for name, table in result.tables().items():
        assert back.tables()[name].equals(table), name
    extra = load_extra(folder, "extra")
    assert extra is not None and extra.num_rows == 3
    assert load_extra(folder, "absent") is None


def test_a_failed_write_leaves_the_previous_circles(
    town: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    outlets, merchants = town
    folder = circles_from_frames(outlets, merchants, AS_OF, 3.0).write(tmp_path / "circles")
    with pytest.raises(Exception):  # noqa: B017 (any failure while writing)
        circles_from_frames(outlets, merchants, AS_OF, 1.0).write(folder, extra_tables={"bad": "not a table"})  # type: ignore[dict-item]
    assert load_circles(folder).radius_km == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["circles"]


def test_circle_of_an_unknown_outlet_says_so(town: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    result = circles_from_frames(*town, AS_OF, 3.0)
    assert (
        len(result.circle("O1")) == result.summary.to_pandas().set_index("outlet_id").loc["O1", "merchants"]
    )
    with pytest.raises(YoushuError, match="outlet 'O9' has no circle"):
        result.circle("O9")


def test_bad_inputs_name_the_row_and_what_was_expected(town: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    outlets, merchants = town
    bad = merchants.copy()
    bad.loc[3, "category"] = "bakery"
    with pytest.raises(YoushuError, match=r"category 'bakery' of merchant 'M00003' is not one of"):
        circles_from_frames(outlets, bad, AS_OF)
    bad = merchants.copy()
    bad.loc[4, "lat"] = np.nan
    with pytest.raises(YoushuError, match=r"merchants: 1 location.*id M00004"):
        circles_from_frames(outlets, bad, AS_OF)
    with pytest.raises(YoushuError, match="outlet_id 'O0' appears more than once"):
        circles_from_frames(pd.concat([outlets, outlets]), merchants, AS_OF)
    with pytest.raises(YoushuError, match=r"merchants lacks columns \['is_acquired'\]"):
        circles_from_frames(outlets, merchants.drop(columns="is_acquired"), AS_OF)
    with pytest.raises(YoushuError, match="no outlets open"):
        circles_from_frames(outlets.iloc[:0], merchants, AS_OF)
