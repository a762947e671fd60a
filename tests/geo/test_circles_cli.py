"""`youshu circles build|show|export` and `youshu visits plan|record|report` as a user runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from tests.clirun import run_cli as _run

from youshu.geo.circle_tags import circle_tag_counts, find_merchant_tags, member_tags
from youshu.geo.circles import load_circles, load_meta

from .conftest import AS_OF

REPO = Path(__file__).resolve().parents[2]
KEY_TAGS = {
    "low_retained_assets": "资产提升不佳",
    "low_qr_usage": "收单码使用频率不高",
    "vip_merchant": "VIP商户",
    "dormant_merchant": "沉睡商户",
    "growth_merchant": "成长商户",
    "churn_warning_merchant": "流失预警",
}


@pytest.fixture
def proj(project: Path, geo_province: Path) -> Path:
    (project / "youshu.yaml").write_text(
        f"warehouse: {geo_province}\nas_of: {AS_OF}\ncircles:\n  radius_km: 5\n  route_time_limit_s: 0.3\n",
        encoding="utf-8",
    )
    return project


def test_build_show_and_export(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["circles", "build"], capsys)
    assert code == 0, out
    folder = proj / "runs" / AS_OF.isoformat() / "circles"
    result = load_circles(folder)
    assert result.radius_km == 5.0
    meta = load_meta(folder)
    assert 0 < meta["huff"]["lambda"] < 10
    assert f"{result.summary.num_rows:,} outlets, radius 5 km" in out and "Huff λ" in out
    assert (folder / "huff_zones").is_dir()

    code, out = _run(["circles", "show", "--top", "3"], capsys)
    assert code == 0, out
    top = result.summary.to_pandas().sort_values(["merchants", "outlet_id"], ascending=[False, True]).iloc[0]
    assert top["outlet_id"] in out

    code, out = _run(["circles", "show", str(top["outlet_id"])], capsys)
    assert code == 0, out
    assert "渗透率" in out and f"商户 {int(top['merchants'])}" in out

    code, out = _run(["circles", "export", "-o", str(proj / "c.xlsx")], capsys)
    assert code == 0, out
    sheet = load_workbook(proj / "c.xlsx").worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert "网点编号" in header and "渗透率" in header
    assert sheet.max_row == result.summary.num_rows + 2

    code, out = _run(["circles", "export", "--table", "members", "-o", str(proj / "m.parquet")], capsys)
    assert code == 0, out
    assert len(pd.read_parquet(proj / "m.parquet")) == result.members.num_rows

    code, out = _run(["circles", "export", "-o", str(proj / "map.html")], capsys)
    assert code == 0, out
    page = (proj / "map.html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page and "Huff" in page  # zone traces (zh names are JSON-escaped)


def test_show_of_an_unknown_outlet_is_a_clear_error(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["circles", "show", "NOPE"], capsys)
    assert code == 2
    assert "outlet 'NOPE' has no circle" in out and "Traceback" not in out


def test_visits_plan_record_and_report(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["circles", "build", "--no-huff"], capsys)
    assert code == 0, out
    result = load_circles(proj / "runs" / AS_OF.isoformat() / "circles")
    members = result.members.to_pandas()
    todo = members[members["is_home"] & (~members["is_acquired"] | members["is_low_activity"])]
    outlet = todo["outlet_id"].value_counts().index[0]
    code, out = _run(["visits", "plan", outlet, "--team", "1", "-o", str(proj / "plan.xlsx")], capsys)
    assert code == 0, out
    plans = pd.read_parquet(proj / "data" / "visits" / "plans")
    assert set(plans["merchant_id"]) == set(todo.loc[todo["outlet_id"] == outlet, "merchant_id"])
    assert "路线" in out and (proj / "plan.xlsx").exists()
    pd.DataFrame(
        {"visit_id": plans["visit_id"].iloc[:1], "visited_date": ["2025-10-02"], "result": ["not_met"]}
    ).to_csv(proj / "r.csv", index=False)
    code, out = _run(["visits", "record", str(proj / "r.csv")], capsys)
    assert code == 0, out
    code, out = _run(["visits", "report"], capsys)
    assert code == 0, out
    assert plans["plan_id"].iloc[0][:12] in out
    shutil.rmtree(proj / "data" / "visits")
    code, out = _run(["visits", "plan", outlet, "--team", "500"], capsys)
    assert code == 2 and "for a team of 500" in out


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split("│")[1:-1]]


def test_merchant_tags_per_circle_in_show_and_export(
    proj: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with (proj / "youshu.yaml").open("a", encoding="utf-8") as f:
        f.write(f"definitions_dir: {REPO / 'definitions'}\n")
    code, out = _run(["circles", "build", "--no-huff"], capsys)
    assert code == 0, out
    result = load_circles(proj / "runs" / AS_OF.isoformat() / "circles")

    code, out = _run(["circles", "show", "--top", "3"], capsys)  # no tags applied yet: the rest is shown
    assert code == 0, out
    assert f"youshu tags apply --entity merchant --as-of {AS_OF}" in out and "渗透率" in out
    code, out = _run(
        ["circles", "export", "--table", "tags", "--tags", str(proj / "none"), "-o", "t.xlsx"], capsys
    )
    assert code == 2 and f"--as-of {AS_OF} --tags-dir {proj / 'none'}" in out

    code, out = _run(["tags", "apply", "--entity", "merchant"], capsys)
    assert code == 0, out
    wide = find_merchant_tags(proj / "data" / "tags", AS_OF)
    assert wide is not None
    counts = circle_tag_counts(result, wide, KEY_TAGS).to_pandas()
    busiest = counts.groupby("outlet_id")["tagged_merchants"].sum().idxmax()
    assert counts["tagged_merchants"].sum() > 0

    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal: no cell folds
    code, out = _run(["circles", "show", str(busiest), "--top", "500"], capsys)
    assert code == 0, out
    lines = {_cells(line)[0]: _cells(line) for line in out.splitlines() if line.count("│") == 5}
    for r in counts[counts["outlet_id"] == busiest].itertuples():
        row = lines[f"{r.tag_zh} {r.tag_id}"]
        assert (row[1], row[3]) == (str(r.tagged_merchants), str(r.home_tagged_merchants)), row
    members = member_tags(result, wide, str(busiest), KEY_TAGS)
    tagged = members[members["tags_zh"].str.len() > 0].iloc[0]
    listed = next(line for line in out.splitlines() if tagged["merchant_id"] in line)
    assert tagged["tags_zh"][0] in listed  # the key tags lead each member's 标签 list

    code, out = _run(["circles", "show", "--top", "3"], capsys)
    assert code == 0, out
    header = next(line for line in out.splitlines() if "网点 outlet" in line)
    assert all(zh in header for zh in KEY_TAGS.values()), header
    monkeypatch.setenv("COLUMNS", "80")  # too narrow for one table: the counts follow in a second one
    code, out = _run(["circles", "show", "--top", "3"], capsys)
    assert code == 0 and "商户标签 merchant tags per circle" in out

    code, out = _run(["circles", "export", "--table", "tags", "-o", str(proj / "t.parquet")], capsys)
    assert code == 0, out
    exported = pd.read_parquet(proj / "t.parquet")
    assert exported.drop(columns="as_of_date").equals(counts.drop(columns="as_of_date"))
    code, out = _run(["circles", "export", "-o", str(proj / "s.xlsx")], capsys)
    assert code == 0, out
    header = [c.value for c in next(load_workbook(proj / "s.xlsx").worksheets[0].iter_rows(max_row=1))]
    assert "VIP商户(户)" in header and "网点编号" in header

    code, out = _run(["circles", "show", str(busiest), "--tag", "有效商户"], capsys)
    assert code == 0 and "有效商户 effective_merchant" in out
    code, out = _run(["circles", "show", "--tag", "沉睡"], capsys)
    assert code == 2 and "did you mean 沉睡商户" in out
