"""The province's map: counties with their specialty products, towns, and outlets clustered in towns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from youshu.schema.enums import Industry, OutletType
from youshu.synth.arrowutil import ids, to_date32

# A fictional province in south-west China (WGS-84 box), large enough for ~120 counties.
LAT_RANGE = (25.5, 32.5)
LON_RANGE = (101.5, 110.0)
KM_PER_DEG_LAT = 111.2

_CITY_SYLLABLES = [
    "云",
    "青",
    "江",
    "安",
    "宁",
    "昌",
    "德",
    "兴",
    "平",
    "永",
    "华",
    "丰",
    "泰",
    "阳",
    "山",
    "川",
    "溪",
    "临",
    "南",
    "北",
    "东",
    "西",
    "金",
    "玉",
    "龙",
    "凤",
    "石",
    "桥",
]
_INDUSTRIES = [i.value for i in Industry]


@dataclass(frozen=True)
class Geography:
    """Counties, towns and outlets of the province plus planted truth about them."""

    counties: pa.Table
    outlets: pa.Table
    county_lat: np.ndarray
    county_lon: np.ndarray
    county_rural: np.ndarray  # bool per county
    county_weight: np.ndarray  # share of the province's customers living there
    town_lat: np.ndarray
    town_lon: np.ndarray
    town_county: np.ndarray
    outlet_lat: np.ndarray
    outlet_lon: np.ndarray
    outlet_county: np.ndarray
    outlet_attractiveness: np.ndarray  # Huff attractiveness (planted)
    specialties: list[list[str]]  # per county: planted specialty industries, strongest first
    huff_lambda: float  # planted distance-decay exponent


def _name(rng: np.random.Generator, suffix: str) -> str:
    a, b = rng.choice(len(_CITY_SYLLABLES), size=2, replace=False)
    return f"{_CITY_SYLLABLES[a]}{_CITY_SYLLABLES[b]}{suffix}"


def _unique_names(rng: np.random.Generator, n: int, suffix: str) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = _name(rng, suffix)
        if name in seen:
            name = f"{name[:-1]}{len(names)}{suffix}"
        seen.add(name)
        names.append(name)
    return names


def build_geography(rng: np.random.Generator, n_customers: int, opened_before_day: int) -> Geography:
    """Lay out counties on a jittered grid, give rural ones specialties, and place towns and outlets.

    Specialties are spatially clustered (each industry has a home region), as real 一县一品 belts are.
    """
    n_counties = int(np.clip(n_customers // 400, 8, 120))
    n_cities = max(2, n_counties // 10)
    cols = int(np.ceil(np.sqrt(n_counties * 1.2)))
    rows = int(np.ceil(n_counties / cols))
    gy, gx = np.divmod(np.arange(n_counties), cols)
    lat = (
        LAT_RANGE[0] + (gy + 0.5 + rng.uniform(-0.3, 0.3, n_counties)) * (LAT_RANGE[1] - LAT_RANGE[0]) / rows
    )
    lon = (
        LON_RANGE[0] + (gx + 0.5 + rng.uniform(-0.3, 0.3, n_counties)) * (LON_RANGE[1] - LON_RANGE[0]) / cols
    )
    # Cities: nearest of n_cities seats chosen among counties; the seat county is urban.
    seats = rng.choice(n_counties, size=n_cities, replace=False)
    d2 = (lat[:, None] - lat[seats][None, :]) ** 2 + (lon[:, None] - lon[seats][None, :]) ** 2
    city = d2.argmin(axis=1)
    rural = np.ones(n_counties, dtype=bool)
    rural[seats] = False
    rural &= rng.random(n_counties) > 0.08
    population = np.round(rng.lognormal(np.log(4.5e5), 0.45, n_counties) * np.where(rural, 1.0, 1.8)).astype(
        np.int64
    )
    weight = population / population.sum()

    # Specialty belts: each industry has a centre; rural counties near it take it as a specialty.
    centres_lat = rng.uniform(*LAT_RANGE, len(_INDUSTRIES))
    centres_lon = rng.uniform(*LON_RANGE, len(_INDUSTRIES))
    dist = np.hypot(lat[:, None] - centres_lat[None, :], (lon[:, None] - centres_lon[None, :]) * 0.9)
    specialties: list[list[str]] = []
    for c in range(n_counties):
        if not rural[c]:
            specialties.append([])
            continue
        order = np.argsort(dist[c] + rng.uniform(0, 0.8, len(_INDUSTRIES)))
        k = 1 if rng.random() < 0.55 else 2
        specialties.append([_INDUSTRIES[i] for i in order[:k]])

    city_names = _unique_names(rng, n_cities, "市")
    county_names = [
        name[:-1] + ("县" if rural[i] else "区")
        for i, name in enumerate(_unique_names(rng, n_counties, "县"))
    ]
    county_ids = [f"CTY{c:03d}" for c in range(n_counties)]
    counties = pa.table(
        {
            "county_id": county_ids,
            "county_name": county_names,
            "city_name": [city_names[c] for c in city],
            "is_rural": rural,
            "population": population,
            "lat": lat,
            "lon": lon,
        }
    )

    # Towns: 3-8 per county around the centre (county seat is town 0).
    towns_per = rng.integers(3, 9, n_counties)
    town_county = np.repeat(np.arange(n_counties), towns_per)
    spread_km = np.where(rural[town_county], 14.0, 5.0)
    first = np.r_[0, np.cumsum(towns_per)[:-1]]
    offset_lat = rng.normal(0, 1, len(town_county)) * spread_km / KM_PER_DEG_LAT
    offset_lon = rng.normal(0, 1, len(town_county)) * spread_km / (KM_PER_DEG_LAT * np.cos(np.radians(30)))
    offset_lat[first] = offset_lon[first] = 0.0
    town_lat = lat[town_county] + offset_lat
    town_lon = lon[town_county] + offset_lon

    # Outlets: at least two per county, more where people are; most in the county seat and big towns.
    n_outlets = max(2 * n_counties, n_customers // 3200)
    per_county = np.maximum(2, np.round(weight * n_outlets)).astype(np.int64)
    outlet_county = np.repeat(np.arange(n_counties), per_county)
    town_pick = np.empty(len(outlet_county), dtype=np.int64)
    for c in range(n_counties):
        idx = np.flatnonzero(outlet_county == c)
        towns = np.arange(first[c], first[c] + towns_per[c])
        p = np.r_[3.0, np.ones(len(towns) - 1)]
        town_pick[idx] = rng.choice(towns, size=len(idx), p=p / p.sum())
        town_pick[idx[0]] = towns[0]
    jitter = 1.2 / KM_PER_DEG_LAT
    outlet_lat = town_lat[town_pick] + rng.normal(0, jitter, len(town_pick))
    outlet_lon = town_lon[town_pick] + rng.normal(0, jitter, len(town_pick))
    attractiveness = np.round(
        rng.lognormal(0.0, 0.5, len(town_pick)) * np.where(town_pick == first[outlet_county], 2.0, 1.0), 3
    )
    n_out = len(outlet_county)
    outlet_type = np.where(rng.random(n_out) < 0.65, OutletType.SELF_OPERATED.value, OutletType.AGENCY.value)
    opened = opened_before_day - rng.integers(365, 365 * 30, n_out)
    outlet_names = [
        f"{county_names[c]}{'营业所' if t == 'agency' else '支行'}{i + 1}号网点"
        for i, (c, t) in enumerate(zip(outlet_county, outlet_type, strict=True))
    ]
    outlets = pa.table(
        {
            "outlet_id": ids("O", np.arange(n_out), 5),
            "outlet_name": outlet_names,
            "county_id": [county_ids[c] for c in outlet_county],
            "sub_branch_id": [f"SB{c:03d}" for c in outlet_county],
            "outlet_type": outlet_type,
            "lat": outlet_lat,
            "lon": outlet_lon,
            "opened_date": to_date32(opened),
        }
    )
    return Geography(
        counties=counties,
        outlets=outlets,
        county_lat=lat,
        county_lon=lon,
        county_rural=rural,
        county_weight=weight,
        town_lat=town_lat,
        town_lon=town_lon,
        town_county=town_county,
        outlet_lat=outlet_lat,
        outlet_lon=outlet_lon,
        outlet_county=outlet_county,
        outlet_attractiveness=attractiveness,
        specialties=specialties,
        huff_lambda=float(np.round(rng.uniform(1.6, 2.4), 3)),
    )


def local_km(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray, lon1: np.ndarray) -> np.ndarray:
    """Approximate distance in km on a local equirectangular projection (fine within a province)."""
    dlat = (lat1 - lat0) * KM_PER_DEG_LAT
    dlon = (lon1 - lon0) * KM_PER_DEG_LAT * np.cos(np.radians((lat0 + lat1) / 2))
    return np.hypot(dlat, dlon)
