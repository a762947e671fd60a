"""Confirmed cases and the labels they give on an as-of date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from youshu.errors import YoushuError
from youshu.models.risk.labels import label_accounts, read_cases


def _cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "active_from": [date(2025, 9, 1), date(2025, 6, 1), date(2025, 10, 1)],
            "active_to": [date(2025, 9, 10), date(2025, 8, 31), date(2025, 10, 20)],
        }
    )


def test_an_account_is_positive_when_its_activity_overlaps_the_last_30_days() -> None:
    ids = ["A", "B", "C", "D", "B"]
    days = [date(2025, 9, 30)] * 4 + [date(2025, 9, 29)]
    # A active in September; B ended 08-31, just outside the 30 days ending 09-30 (09-01..09-30) but
    # inside those ending 09-29 (08-31..09-29); C starts later; D is no case.
    assert label_accounts(ids, days, _cases()).tolist() == [True, False, False, False, True]
    assert label_accounts(["B"], date(2025, 9, 30), _cases(), window_days=31).tolist() == [True]


def test_cases_are_read_from_csv_and_parquet(tmp_path: Path) -> None:
    cases = _cases()
    cases.to_csv(tmp_path / "cases.csv", index=False)
    (tmp_path / "pq").mkdir()
    cases.to_parquet(tmp_path / "pq" / "part-00000.parquet")
    for path in (tmp_path / "cases.csv", tmp_path / "pq"):
        read = read_cases(path)
        assert read["account_id"].tolist() == ["A", "B", "C"]
        assert read["active_from"].tolist() == cases["active_from"].tolist()


def test_bad_case_files_are_refused_with_the_row(tmp_path: Path) -> None:
    bad = _cases()
    bad.loc[1, "active_to"] = date(2025, 1, 1)
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(YoushuError, match="row 1: active_to 2025-01-01 is before"):
        read_cases(tmp_path / "bad.csv")
    _cases().drop(columns="active_to").to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(YoushuError, match="lacks column"):
        read_cases(tmp_path / "short.csv")
    with pytest.raises(YoushuError, match="no confirmed cases"):
        read_cases(tmp_path / "nothing")
