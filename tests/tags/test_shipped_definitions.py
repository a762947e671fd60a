"""The tag definitions shipped under definitions/tags/: enough of them, the required ones, all tests passing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from youshu.features.catalog import feature_schema
from youshu.tags.definitions import load_definitions
from youshu.tags.testing import run_tests

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions" / "tags"
REQUIRED = {
    "customer": {"代发工资客户", "养老金客户", "行外理财客户", "女性客群", "高净值潜力", "沉睡客户", "新客"},
    "merchant": {"资产提升不佳", "收单码使用频率不高", "VIP商户", "沉睡商户", "成长商户", "流失预警"},
}


@pytest.fixture(scope="module")
def tagset():  # type: ignore[no-untyped-def]
    return load_definitions([DEFINITIONS], {e: feature_schema(e) for e in ("customer", "merchant")})


def _definitions(tagset) -> list:  # type: ignore[no-untyped-def]
    return list(tagset.definitions)


def test_there_are_at_least_80_customer_and_40_merchant_tags(tagset) -> None:  # type: ignore[no-untyped-def]
    counts = Counter(d.entity for d in _definitions(tagset))
    assert counts["customer"] >= 80
    assert counts["merchant"] >= 40


def test_the_tags_the_business_asked_for_are_there(tagset) -> None:  # type: ignore[no-untyped-def]
    for entity, names in REQUIRED.items():
        have = {d.display_name_zh for d in _definitions(tagset) if d.entity == entity}
        assert names <= have, names - have


def test_every_catalogue_section_has_tags(tagset) -> None:  # type: ignore[no-untyped-def]
    sections = {str(d.category.value) for d in _definitions(tagset)}
    assert {
        "基础属性",
        "资产",
        "交易行为",
        "渠道偏好",
        "产品持有",
        "生命周期",
        "价值",
        "风险",
        "商户经营",
        "商户资金",
        "营销响应",
    } <= sections


def test_every_definition_has_tests_and_they_all_pass(tagset) -> None:  # type: ignore[no-untyped-def]
    assert all(d.tests for d in _definitions(tagset))
    failures = [r.message for r in run_tests(tagset) if not r.passed]
    assert failures == []
