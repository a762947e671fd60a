"""The customer mix of the summary: customers onboarded by the as-of date by age band, gender and occupation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from youshu.pipeline.summary_query import Tables, execute, labelled, labels

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "AGE_BANDS",
    "AGE_BAND_ZH",
    "AGE_UNKNOWN",
    "GENDER_ZH",
    "OCCUPATION_ZH",
    "CustomerMix",
    "age_band",
    "customer_mix",
]

# Display names (zh) of enumerated values; the English value itself is shown as the subtitle.
OCCUPATION_ZH = labels(
    "farmer=农户 worker=务工人员 retiree=退休人员 merchant_owner=个体工商户 enterprise_owner=企业主 "
    "civil_servant=公务员 teacher_doctor=教师医生 student=学生 other=其他"
)
GENDER_ZH = labels("F=女 M=男 unknown=未知(对公)")

# (label, lowest age inclusive); whole years of age on the as-of date. Businesses have no age.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("<18", 0), ("18-29", 18), ("30-39", 30), ("40-49", 40), ("50-59", 50), ("60-69", 60), ("70+", 70)
)  # fmt: skip
AGE_UNKNOWN = "unknown"
AGE_BAND_ZH = labels(
    "<18=18岁以下 18-29=18-29岁 30-39=30-39岁 40-49=40-49岁 50-59=50-59岁 60-69=60-69岁 70+=70岁及以上"
)
AGE_BAND_ZH[AGE_UNKNOWN] = "未知(对公)"


@dataclass(frozen=True)
class CustomerMix:
    """Customers onboarded by the as-of date, by age band, gender and occupation (``key, name_zh, customers``)."""

    by_age_band: pd.DataFrame
    by_gender: pd.DataFrame
    by_occupation: pd.DataFrame


def age_band(c: ir.Table, as_of: date) -> ir.StringValue:
    """The :data:`AGE_BANDS` label of each customer's whole years of age on ``as_of`` (no birth date: unknown)."""
    born = c.birth_date
    had_birthday = (born.month() < as_of.month) | ((born.month() == as_of.month) & (born.day() <= as_of.day))
    age = as_of.year - born.year() - ibis.ifelse(had_birthday, 0, 1)
    branches = [(age >= low, label) for label, low in reversed(AGE_BANDS)]
    return ibis.cases((born.isnull(), AGE_UNKNOWN), *branches, else_=AGE_UNKNOWN)


def customer_mix(engine: Engine, t: Tables, as_of: date) -> CustomerMix:
    """Customers onboarded on or before ``as_of``, counted by age band, gender and occupation."""
    c = t.customers.filter(t.customers.onboard_date <= as_of)
    age = execute(engine, c.group_by(key=age_band(c, as_of)).aggregate(customers=c.count()))
    bands = [label for label, _ in AGE_BANDS]
    gender = execute(engine, c.group_by(key=c.gender.fill_null("unknown")).aggregate(customers=c.count()))
    occ = execute(engine, c.group_by(key=c.occupation).aggregate(customers=c.count()))
    return CustomerMix(
        by_age_band=labelled(age, "key", AGE_BAND_ZH, [*bands, AGE_UNKNOWN], ["customers"]),
        by_gender=labelled(gender, "key", GENDER_ZH, ["F", "M", "unknown"], ["customers"]),
        by_occupation=labelled(occ, "key", OCCUPATION_ZH, list(OCCUPATION_ZH), ["customers"]),
    )
