"""Customers: observable attributes, masked-by-default personal data, and the planted latent states behind them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from scipy.spatial import cKDTree

from youshu.schema.enums import CustomerType, Gender, Occupation
from youshu.synth.arrowutil import ids, to_date32, weighted_choice
from youshu.synth.geography import KM_PER_DEG_LAT, Geography

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国海云飞志春燕红林斌波宇浩凯鹏辉")
STAGES = ("acquisition", "growth", "mature", "decline", "dormant")
CHAIN_STAGES = ("production", "processing", "sales")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


@dataclass
class People:
    """One chunk of customers: observed columns plus latents used to generate their behaviour."""

    n: int
    chunk: int  # number of the chunk these customers belong to (prefixes event ids)
    index: np.ndarray  # global customer numbers
    customer_id: pa.Array
    county: np.ndarray
    is_business: np.ndarray
    female: np.ndarray
    age: np.ndarray
    occupation: np.ndarray  # str values of Occupation
    lat: np.ndarray
    lon: np.ndarray
    home_outlet: np.ndarray
    near_outlets: np.ndarray  # (n, k) outlet indices by Huff preference order
    near_prob: np.ndarray  # (n, k) Huff probabilities
    onboard_day: np.ndarray
    # latents
    intimacy: np.ndarray  # 0..1
    wealth_fen: np.ndarray  # total financial assets anywhere
    bank_share: np.ndarray  # share of wealth kept at this bank
    wealth_affinity: np.ndarray  # appetite for wealth products (drives other-bank wealth outflows too)
    wealth_propensity: np.ndarray  # P(buys a bank wealth product within 90 days), around the truth date
    insurance_propensity: np.ndarray  # P(buys insurance within 90 days)
    stage: np.ndarray  # lifecycle stage index into STAGES, as of the truth date
    stage_change_day: np.ndarray  # when growth/decline/dormancy began
    activity: np.ndarray  # discretionary transactions per month when active
    chain_industry: np.ndarray  # '' when not in a chain
    chain_stage: np.ndarray  # '' or one of CHAIN_STAGES
    credit_quality: np.ndarray  # 0..1, higher repays better
    is_merchant_owner: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _id_card_numbers(rng: np.random.Generator, county: np.ndarray, birth_day: np.ndarray) -> list[str]:
    """18-digit resident ID numbers with a valid GB 11643 check digit (fictional area codes 53xxxx)."""
    n = len(county)
    area = 530000 + (county % 100) * 100 + 2 + rng.integers(0, 20, n)
    ymd = np.datetime_as_string(birth_day.astype("datetime64[D]"), unit="D")
    seq = rng.integers(0, 1000, n)
    body = [f"{a:06d}{d.replace('-', '')}{s:03d}" for a, d, s in zip(area, ymd, seq, strict=True)]
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return [b + c for b, c in zip(body, check, strict=True)]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.7
    return [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if t else "") for a, b, c, t in zip(s, g1, g2, two, strict=True)
    ]


def _occupations(
    rng: np.random.Generator, age: np.ndarray, rural: np.ndarray, business: np.ndarray
) -> np.ndarray:
    occ = np.array([o.value for o in Occupation])
    # columns follow Occupation order: farmer worker retiree merchant enterprise civil teacher student other
    w_rural = np.array([0.42, 0.2, 0.0, 0.09, 0.02, 0.03, 0.04, 0.0, 0.2])
    w_urban = np.array([0.05, 0.42, 0.0, 0.11, 0.03, 0.08, 0.09, 0.0, 0.22])
    w = np.where(rural[:, None], w_rural, w_urban).copy()
    old = age >= 60
    w[old, 2] = 3.0  # retirees dominate past 60, some keep farming
    w[old & rural, 0] = 1.2
    young = age < 23
    w[young, 7] = 2.5
    w[business] = 0.0
    w[business, 3] = 0.7
    w[business, 4] = 0.3
    return occ[weighted_choice(rng, w)]


def build_people(
    rng: np.random.Generator,
    geo: Geography,
    start: int,
    n: int,
    truth_day: int,
    first_day: int,
    chunk: int = 0,
) -> tuple[People, pa.Table]:
    """Generate ``n`` customers numbered from ``start``; returns latents and the ``customers`` table."""
    index = np.arange(start, start + n, dtype=np.int64)
    county = rng.choice(len(geo.county_weight), size=n, p=geo.county_weight)
    rural = geo.county_rural[county]
    is_business = rng.random(n) < 0.04
    age = np.clip(rng.normal(np.where(rural, 49, 42), 16, n), 18, 92).astype(np.int64)
    female = (rng.random(n) < 0.5) & ~is_business
    occupation = _occupations(rng, age, rural, is_business)

    # Home: a town of the county, scattered village-level around it.
    town_of_county = [np.flatnonzero(geo.town_county == c) for c in range(len(geo.county_weight))]
    town = np.array(
        [
            towns[i % len(towns)]
            for towns, i in zip((town_of_county[c] for c in county), rng.integers(0, 1000, n), strict=True)
        ]
    )
    spread = np.where(rural, 4.0, 1.5) / KM_PER_DEG_LAT
    lat = geo.town_lat[town] + rng.normal(0, spread)
    lon = geo.town_lon[town] + rng.normal(0, spread / np.cos(np.radians(30)))

    # Huff choice of outlet among the k nearest: P_j ∝ A_j * d_j^-λ (λ planted, calibrated later by issue 4).
    cos = np.cos(np.radians(29.0))
    tree = cKDTree(np.c_[geo.outlet_lat * KM_PER_DEG_LAT, geo.outlet_lon * KM_PER_DEG_LAT * cos])
    k = min(6, len(geo.outlet_lat))
    dist, near = tree.query(np.c_[lat * KM_PER_DEG_LAT, lon * KM_PER_DEG_LAT * cos], k=k)
    dist, near = np.atleast_2d(dist), np.atleast_2d(near)
    util = geo.outlet_attractiveness[near] * np.maximum(dist, 0.3) ** (-geo.huff_lambda)
    prob = util / util.sum(axis=1, keepdims=True)
    home_outlet = near[np.arange(n), weighted_choice(rng, prob)]

    # Latents. Intimacy rises with age and pension/payroll-type occupations; wealth with occupation and age.
    occ_wealth = {
        "farmer": 10.9,
        "worker": 11.2,
        "retiree": 11.4,
        "merchant_owner": 12.0,
        "enterprise_owner": 12.9,
        "civil_servant": 11.8,
        "teacher_doctor": 11.8,
        "student": 9.3,
        "other": 11.0,
    }
    mu = np.array([occ_wealth[o] for o in occupation]) + np.where(rural, -0.25, 0.15) + 0.01 * (age - 45)
    wealth_yuan = np.exp(rng.normal(mu, 1.0))
    wealth_fen = np.round(wealth_yuan * 100).astype(np.int64)
    z_wealth = (np.log(wealth_yuan) - 11.2) / 1.1
    intimacy = np.clip(
        rng.beta(2.2, 2.8, n) + 0.004 * (age - 45) + np.where(occupation == "retiree", 0.12, 0.0), 0.01, 0.99
    )
    bank_share = _sigmoid(-1.2 + 3.2 * intimacy + rng.normal(0, 0.4, n))
    affinity = _sigmoid(-0.8 + 0.9 * z_wealth - 0.03 * np.abs(age - 45) + rng.normal(0, 0.8, n))
    wealth_propensity = _sigmoid(
        -5.2 + 0.9 * z_wealth + 2.6 * affinity + 1.0 * intimacy + rng.normal(0, 0.45, n)
    )
    herself = female & (age >= 25) & (age <= 55)
    insurance_propensity = _sigmoid(
        -5.0 + 1.5 * herself + 0.45 * z_wealth + 0.8 * intimacy + rng.normal(0, 0.5, n)
    )

    # Lifecycle as of the truth date, with the day its current phase began.
    tenure_days = np.round(rng.gamma(1.6, 365 * 4.5, n)).astype(np.int64) + 30
    stage = np.empty(n, dtype=np.int64)
    new = rng.random(n) < 0.07
    tenure_days[new] = rng.integers(10, 180, new.sum())
    onboard_day = truth_day - tenure_days
    p = np.c_[
        np.full(n, 0.22), np.full(n, 0.43), 0.16 + 0.2 * (1 - intimacy), 0.06 + 0.25 * (1 - intimacy) ** 2
    ]
    stage[~new] = 1 + weighted_choice(rng, p[~new])
    stage[new] = 0
    young_tenure = (~new) & (tenure_days < 365) & (stage == 4)
    stage[young_tenure] = 1  # too new to have gone dormant
    change = np.where(stage == 0, onboard_day, truth_day - rng.integers(90, 330, n))
    change = np.where(stage == 4, truth_day - rng.integers(200, 520, n), change)
    change = np.maximum(change, onboard_day + 30)
    change[stage == 0] = onboard_day[stage == 0]
    activity = rng.gamma(2.0, 1.4, n) * (0.4 + intimacy)

    # Industry chains: in specialty counties farmers produce; owners process or sell online.
    chain_industry = np.full(n, "", dtype=object)
    chain_stage = np.full(n, "", dtype=object)
    for c in np.unique(county):
        spec = geo.specialties[c]
        if not spec:
            continue
        members = np.flatnonzero(county == c)
        occ = occupation[members]
        u = rng.random(len(members))
        produce = ((occ == "farmer") & (u < 0.55)) | ((occ == "retiree") & rural[members] & (u < 0.12))
        owner = np.isin(occ, ["merchant_owner", "enterprise_owner"])
        process = owner & (u < 0.3)
        sell = owner & (u >= 0.3) & (u < 0.6) | ((occ == "other") & (age[members] < 40) & (u < 0.06))
        which = np.where(rng.random(len(members)) < 0.75, 0, len(spec) - 1)
        industry = np.array(spec, dtype=object)[which]
        for mask, name in ((produce, "production"), (process, "processing"), (sell, "sales")):
            chain_industry[members[mask]] = industry[mask]
            chain_stage[members[mask]] = name
    credit_quality = _sigmoid(
        0.8
        + 1.6 * intimacy
        + 0.4 * z_wealth
        + np.where(chain_stage != "", 0.5, 0.0)
        - np.where(stage == 3, 0.8, 0.0)
        + rng.normal(0, 0.9, n)
    )
    is_merchant_owner = np.isin(occupation, ["merchant_owner", "enterprise_owner"])

    birth_day = truth_day - age * 365 - rng.integers(0, 365, n)
    customer_id = ids("C", index, 9)
    names = _names(rng, n)
    id_cards = _id_card_numbers(rng, county, birth_day)
    phones = ["1" + p for p in rng.choice(["38", "39", "58", "59", "87", "88", "36", "37"], n)]
    phones = [p + f"{x:08d}" for p, x in zip(phones, rng.integers(0, 10**8, n), strict=True)]
    phone_missing = rng.random(n) < 0.03
    table = pa.table(
        {
            "customer_id": customer_id,
            "customer_type": np.where(
                is_business, CustomerType.BUSINESS.value, CustomerType.INDIVIDUAL.value
            ),
            "name": [nm + ("商行" if b else "") for nm, b in zip(names, is_business, strict=True)],
            "id_card_no": id_cards,
            "phone": pa.array(
                [None if m else p for p, m in zip(phones, phone_missing, strict=True)], pa.string()
            ),
            "gender": pa.array(
                [
                    None if b else (Gender.FEMALE.value if f else Gender.MALE.value)
                    for f, b in zip(female, is_business, strict=True)
                ],
                pa.string(),
            ),
            "birth_date": _nullable_dates(birth_day, is_business),
            "occupation": occupation,
            "county_id": [f"CTY{c:03d}" for c in county],
            "home_outlet_id": ids("O", home_outlet, 5),
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "onboard_date": to_date32(np.maximum(onboard_day, first_day - 365 * 40)),
        }
    )
    people = People(
        n=n,
        chunk=chunk,
        index=index,
        customer_id=customer_id,
        county=county,
        is_business=is_business,
        female=female,
        age=age,
        occupation=occupation,
        lat=lat,
        lon=lon,
        home_outlet=home_outlet,
        near_outlets=near,
        near_prob=prob,
        onboard_day=onboard_day,
        intimacy=intimacy,
        wealth_fen=wealth_fen,
        bank_share=bank_share,
        wealth_affinity=affinity,
        wealth_propensity=wealth_propensity,
        insurance_propensity=insurance_propensity,
        stage=stage,
        stage_change_day=change,
        activity=activity,
        chain_industry=chain_industry,
        chain_stage=chain_stage,
        credit_quality=credit_quality,
        is_merchant_owner=is_merchant_owner,
    )
    return people, table


def _nullable_dates(days: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=null).cast(pa.date32())


def truth_table(p: People, truth_day: int) -> pa.Table:
    """Planted customer truth (evaluation only)."""
    return pa.table(
        {
            "customer_id": p.customer_id,
            "truth_as_of_date": pa.array(np.full(p.n, truth_day, dtype=np.int32)).cast(pa.date32()),
            "lifecycle_stage": np.array(STAGES)[p.stage],
            "stage_change_date": pa.array(p.stage_change_day.astype(np.int32)).cast(pa.date32()),
            "intimacy": np.round(p.intimacy, 4),
            "wealth_fen": p.wealth_fen,
            "bank_share": np.round(p.bank_share, 4),
            "wealth_affinity": np.round(p.wealth_affinity, 4),
            "wealth_propensity_90d": np.round(p.wealth_propensity, 5),
            "insurance_propensity_90d": np.round(p.insurance_propensity, 5),
            "chain_industry": pa.array([x or None for x in p.chain_industry], pa.string()),
            "chain_stage": pa.array([x or None for x in p.chain_stage], pa.string()),
            "credit_quality": np.round(p.credit_quality, 4),
        }
    )
