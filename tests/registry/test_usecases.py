"""The use-case catalogue: shipped files load, unknown keys are refused naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from youshu.registry.card import BusinessArea
from youshu.registry.usecases import UseCaseError, find_use_case, load_use_cases

SHIPPED = Path(__file__).resolve().parents[2] / "definitions"

GOOD = """\
id: her_insurance
name_zh: 她经济保险
name_en: Women's insurance
business_area: 零售金融
problem: 在女性客群中按购买保险的倾向排序。
models: [her_insurance]
tags: [female_customer]
outcomes:
  - metric: AUC
    value: 0.735
    measured_on: synthetic province
    source: docs/models.md
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "her.yml").write_text(GOOD, encoding="utf-8")
    [case] = load_use_cases(tmp_path)
    assert case.business_area is BusinessArea.RETAIL and case.models == ("her_insurance",)
    assert case.outcomes[0].value == 0.735 and case.outcomes[0].measured_on == "synthetic province"
    assert find_use_case([case], "她经济保险") is case


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "sponsor: somebody\n", "sponsor: unknown key"),
        (GOOD.replace("零售金融", "零售"), "business_area"),
        (
            GOOD.replace("    source: docs/models.md\n", "    source: docs/models.md\n    note: x\n"),
            "note: unknown",
        ),
        (GOOD.replace("    measured_on: synthetic province\n", ""), "measured_on: Field required"),
    ],
)
def test_bad_files_are_refused_naming_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UseCaseError) as info:
        load_use_cases(tmp_path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(UseCaseError, match="already defined in"):
        load_use_cases(tmp_path)


def test_shipped_catalogue_covers_the_areas_and_names_existing_tags() -> None:
    cases = load_use_cases(SHIPPED / "use_cases")
    assert {c.id for c in cases} >= {
        "wealth_prospects",
        "her_insurance",
        "risky_accounts",
        "merchant_circles",
    }
    assert {c.business_area for c in cases} >= {
        BusinessArea.RETAIL,
        BusinessArea.RISK,
        BusinessArea.REAL_ECONOMY,
    }
    known = {
        d["id"]
        for f in (SHIPPED / "tags").rglob("*.yml")
        for d in yaml.safe_load(f.read_text(encoding="utf-8"))
    }
    for case in cases:
        assert set(case.tags) <= known, case.id
        assert all("synthetic province" in o.measured_on for o in case.outcomes), case.id
