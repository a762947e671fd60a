"""Customer pages (IVL cube, drill-down, customer page and unmasking), target lists with their exports, and the
audience builder: what each role sees, limited to its outlets, masked, stamped and audited. Expectations are
computed from the run's tables (``run.table``, unscoped) and compared with what the pages answer."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlencode

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import load_workbook
from sqlalchemy import select
from tests.app.conftest import Workbench

from youshu.app.db import AuditEvent

MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
FILE_NAME = re.compile(r'filename="([^"]+)"')
CELL = re.compile(
    r'data-testid="ivl-cell" data-intimacy="(?P<intimacy>[^"]*)" data-value="(?P<value>[^"]*)" '
    r'data-stage="(?P<stage>[^"]*)" data-count="(?P<count>\d+)"'
)
#: the spec's example, and one that matches many customers in a 4,000-customer province
EXAMPLE = "女性客群 AND 行外理财客户 AND NOT 沉睡客户"
BROAD = "女性客群 AND NOT 沉睡客户"
BROAD_TAGS = {"female_customer": True, "dormant_customer": False}
EXAMPLE_TAGS = {"female_customer": True, "outside_wealth_buyer": True, "dormant_customer": False}


def _attrs(html: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', html)


def _file_name(answer: Response, stem: str, username: str, ext: str) -> bool:
    """The download is named ``<stem>_<username>_<YYYYmmdd-HHMMSS>.<ext>``."""
    found = FILE_NAME.search(answer.headers["content-disposition"])
    return (
        bool(found) and re.fullmatch(rf"{stem}_{username}_\d{{8}}-\d{{6}}\.{ext}", found.group(1)) is not None
    )


def _masked(phones: list[object]) -> bool:
    """Every phone masked (a few customers have none: shown as — or an empty cell), and some present."""
    present = [str(p) for p in phones if p not in (None, "", "—")]
    return bool(present) and all(MASKED_PHONE.match(p) for p in present)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _events(workbench: Workbench, username: str, action: str) -> list[AuditEvent]:
    with workbench.app.state.sessions() as db:
        return list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.username == username, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def _table(workbench: Workbench, name: str) -> pd.DataFrame:
    return workbench.app.state.run.table(name)


@pytest.fixture(scope="module")
def manager_a(workbench: Workbench) -> TestClient:
    return workbench.client("manager_a")


@pytest.fixture(scope="module")
def admin(workbench: Workbench) -> TestClient:
    return workbench.client("admin")


@pytest.fixture(scope="module")
def manager_b(workbench: Workbench) -> TestClient:
    return workbench.client("manager_b")


@pytest.fixture(scope="module")
def viewer(workbench: Workbench) -> TestClient:
    return workbench.client("viewer")


# -- IVL ----------------------------------------------------------------------------------------------------------
def test_ivl_cube_counts_only_the_customers_of_the_users_outlets(
    workbench: Workbench, manager_a: TestClient, admin: TestClient
) -> None:
    ivl = _table(workbench, "customer_ivl")
    keys = ["intimacy_level", "value_level", "lifecycle_stage_zh"]
    for client, expected in ((manager_a, ivl[ivl["outlet_id"] == workbench.outlet_a]), (admin, ivl)):
        page = client.get("/customers/ivl")
        assert page.status_code == 200
        assert 'data-testid="ivl-cube"' in page.text
        cells = {(m["intimacy"], m["value"], m["stage"]): int(m["count"]) for m in CELL.finditer(page.text)}
        assert sum(cells.values()) == len(expected) > 0
        assert len(cells) == 9 * ivl["lifecycle_stage_zh"].nunique()
        assert {k: v for k, v in cells.items() if v} == expected.groupby(keys).size().to_dict()
    actions = _table(workbench, "ivl_cube_province")["action"]
    assert actions.iloc[0] in page.text, "the playbook action of the province cube is shown"


def test_ivl_cell_lists_the_cells_customers_of_the_users_outlet(
    workbench: Workbench, manager_a: TestClient
) -> None:
    ivl = _table(workbench, "customer_ivl")
    mine = ivl[ivl["outlet_id"] == workbench.outlet_a]
    (intimacy, value, stage), size = next(
        iter(
            mine.groupby(["intimacy_level", "value_level", "lifecycle_stage_zh"]).size().sort_values().items()
        )
    )
    query = urlencode({"intimacy": intimacy, "value": value, "stage": stage})
    page = manager_a.get(f"/customers/ivl/cell?{query}")
    assert page.status_code == 200
    ids = _attrs(page.text, "data-customer-id")
    cell = mine[
        (mine["intimacy_level"] == intimacy)
        & (mine["value_level"] == value)
        & (mine["lifecycle_stage_zh"] == stage)
    ]
    assert len(ids) == min(size, 50) and set(ids) <= set(cell["customer_id"])
    assert set(_attrs(page.text, "data-outlet-id")) == {workbench.outlet_a}
    assert f'href="/customers/{ids[0]}"' in page.text
    # the biggest cell pages through all of its customers, 50 a page, each once
    (intimacy, value, stage), size = next(
        iter(
            mine.groupby(["intimacy_level", "value_level", "lifecycle_stage_zh"])
            .size()
            .sort_values(ascending=False)
            .items()
        )
    )
    seen: list[str] = []
    for number in range(1, -(-size // 50) + 1):
        query = urlencode({"intimacy": intimacy, "value": value, "stage": stage, "page": number})
        seen += _attrs(manager_a.get(f"/customers/ivl/cell?{query}").text, "data-customer-id")
    assert sorted(seen) == sorted(
        mine.loc[
            (mine["intimacy_level"] == intimacy)
            & (mine["value_level"] == value)
            & (mine["lifecycle_stage_zh"] == stage),
            "customer_id",
        ]
    )


def test_ivl_cell_rejects_levels_that_do_not_exist(workbench: Workbench, manager_a: TestClient) -> None:
    cube = _table(workbench, "ivl_cube_province")
    good = {"intimacy": cube["intimacy_level"].iloc[0], "value": cube["value_level"].iloc[0]}
    for stage in ("不存在", ""):
        answer = manager_a.get(f"/customers/ivl/cell?{urlencode({**good, 'stage': stage})}")
        assert answer.status_code == 422
    answer = manager_a.get(f"/customers/ivl/cell?{urlencode({**good, 'stage': '成长期', 'intimacy': '超'})}")
    assert answer.status_code == 422 and "intimacy" in answer.text


def test_viewer_sees_the_cube_counts_but_no_customer_rows(viewer: TestClient, workbench: Workbench) -> None:
    page = viewer.get("/customers/ivl")
    assert page.status_code == 200
    assert sum(int(c) for c in _attrs(page.text, "data-count")) > 0
    assert "/customers/ivl/cell?" not in page.text
    cube = _table(workbench, "ivl_cube_province").iloc[0]
    query = urlencode(
        {
            "intimacy": cube["intimacy_level"],
            "value": cube["value_level"],
            "stage": cube["lifecycle_stage_zh"],
        }
    )
    assert viewer.get(f"/customers/ivl/cell?{query}").status_code == 403
    customer = _table(workbench, "customers").query("outlet_id == @workbench.outlet_a")["customer_id"].iloc[0]
    assert viewer.get(f"/customers/{customer}").status_code == 403


# -- the customer page --------------------------------------------------------------------------------------------
def _listed_customer(workbench: Workbench) -> str:
    """A customer of outlet A on the wealth list (so the page has a score and a list entry)."""
    targets = _table(workbench, "wealth_targets")
    return str(targets.loc[targets["outlet_id"] == workbench.outlet_a, "customer_id"].iloc[0])


def test_customer_page_shows_masked_master_data_tags_score_and_list_entries(
    workbench: Workbench, manager_a: TestClient
) -> None:
    customer_id = _listed_customer(workbench)
    raw = _table(workbench, "customers").set_index("customer_id").loc[customer_id]
    page = manager_a.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    assert raw["phone"] not in page.text and raw["id_card_no"] not in page.text
    phone = re.search(r'data-field="phone">([^<]*)<', page.text)
    assert phone and MASKED_PHONE.match(phone.group(1))
    tags = _table(workbench, "customer_tags").set_index("customer_id").loc[customer_id]
    names = workbench.app.state.run.audience().names
    true_tags = [t for t in names if t in tags.index and pd.notna(tags[t]) and bool(tags[t])]
    assert true_tags, "the customer has true boolean tags"
    shown = set(_attrs(page.text, "data-tag"))
    assert set(true_tags) == shown
    assert names[true_tags[0]] in page.text
    score = _table(workbench, "wealth_scores").set_index("customer_id").loc[customer_id]
    assert f"{score['score']:.3f}" in page.text and str(score["reason_1"]) in page.text
    assert 'data-testid="customer-lists"' in page.text and "理财营销名单" in page.text
    assert 'data-testid="unmask-form"' in page.text


def test_customer_of_another_outlet_is_not_found_for_an_outlet_manager(
    workbench: Workbench, manager_a: TestClient, admin: TestClient
) -> None:
    customers = _table(workbench, "customers")
    other = customers.loc[customers["outlet_id"] == workbench.outlet_b, "customer_id"].iloc[0]
    assert manager_a.get(f"/customers/{other}").status_code == 404
    assert manager_a.get("/customers/C_NO_SUCH").status_code == 404
    assert admin.get(f"/customers/{other}").status_code == 200


def test_unmask_needs_permission_csrf_and_a_reason_and_is_audited(
    workbench: Workbench, manager_a: TestClient
) -> None:
    customer_id = _listed_customer(workbench)
    raw = _table(workbench, "customers").set_index("customer_id").loc[customer_id]
    url = f"/customers/{customer_id}/unmask"
    token = _csrf(manager_a.get(f"/customers/{customer_id}").text)

    missing = manager_a.post(url, data={"csrf_token": token})
    short = manager_a.post(url, data={"csrf_token": token, "reason": " ab "})
    assert missing.status_code == short.status_code == 422
    assert raw["phone"] not in missing.text and 'data-testid="unmask-error"' in missing.text
    forged = manager_a.post(url, data={"reason": "客户来电核实身份"})
    assert forged.status_code == 403 and raw["phone"] not in forged.text
    analyst = workbench.client("analyst")
    analyst_token = _csrf(analyst.get(f"/customers/{customer_id}").text)
    refused = analyst.post(url, data={"csrf_token": analyst_token, "reason": "客户来电核实身份"})
    assert refused.status_code == 403 and raw["phone"] not in refused.text
    assert not _events(workbench, "analyst", "unmask")

    before = len(_events(workbench, "manager_a", "unmask"))
    shown = manager_a.post(url, data={"csrf_token": token, "reason": "客户来电核实身份"})
    assert shown.status_code == 200
    assert raw["phone"] in shown.text and raw["id_card_no"] in shown.text and raw["name"] in shown.text
    events = _events(workbench, "manager_a", "unmask")
    assert len(events) == before + 1
    event = events[-1]
    assert event.resource == f"/customers/{customer_id}"
    assert json.loads(event.detail) == {"reason": "客户来电核实身份"}
    # nothing unmasked is kept: the next plain view is masked again
    assert raw["phone"] not in manager_a.get(f"/customers/{customer_id}").text
    other = _table(workbench, "customers").query("outlet_id == @workbench.outlet_b")["customer_id"].iloc[0]
    assert (
        manager_a.post(
            f"/customers/{other}/unmask", data={"csrf_token": token, "reason": "核实身份"}
        ).status_code
        == 404
    )


# -- lists --------------------------------------------------------------------------------------------------------
def test_lists_page_counts_each_lists_rows_per_outlet_in_scope(
    workbench: Workbench, manager_a: TestClient, admin: TestClient, viewer: TestClient
) -> None:
    targets = _table(workbench, "wealth_targets")
    page = manager_a.get("/lists")
    assert page.status_code == 200
    assert set(_attrs(page.text, "data-outlet-id")) == {workbench.outlet_a}
    total = re.search(r'data-testid="list-wealth_targets" data-total="(\d+)"', page.text)
    assert total and int(total.group(1)) == int((targets["outlet_id"] == workbench.outlet_a).sum()) > 0
    page = admin.get("/lists")
    assert page.status_code == 200
    total = re.search(r'data-testid="list-wealth_targets" data-total="(\d+)"', page.text)
    assert total and int(total.group(1)) == len(targets)
    if workbench.app.state.run.has("rural_selection"):
        rural = _table(workbench, "rural_selection")
        total = re.search(r'data-testid="list-rural_selection" data-total="(\d+)"', page.text)
        assert total and int(total.group(1)) == len(rural)
    page = viewer.get("/lists")
    assert page.status_code == 200 and "/lists/wealth_targets/export" not in page.text


def test_list_rows_are_the_outlets_rows_ranked_and_masked(
    workbench: Workbench, manager_a: TestClient
) -> None:
    targets = _table(workbench, "wealth_targets")
    mine = targets[targets["outlet_id"] == workbench.outlet_a].sort_values("rank_in_outlet")
    page = manager_a.get("/lists/wealth_targets")
    assert page.status_code == 200
    ids = _attrs(page.text, "data-customer-id")
    assert ids == list(mine["customer_id"].iloc[:50])
    assert set(_attrs(page.text, "data-outlet-id")) == {workbench.outlet_a}
    phones = re.findall(r'data-field="phone">([^<]*)<', page.text)
    assert _masked(phones)
    assert str(mine["reasons"].iloc[0]) in page.text
    by_outlet = manager_a.get(f"/lists/wealth_targets?outlet_id={workbench.outlet_a}&page=2")
    assert _attrs(by_outlet.text, "data-customer-id") == list(mine["customer_id"].iloc[50:100])


def test_lists_refuse_unknown_names_outlets_out_of_scope_and_viewers(
    workbench: Workbench, manager_a: TestClient, viewer: TestClient
) -> None:
    assert manager_a.get("/lists/no_such_list").status_code == 404
    assert manager_a.get(f"/lists/wealth_targets?outlet_id={workbench.outlet_b}").status_code == 404
    assert manager_a.get(f"/lists/wealth_targets/export?outlet_id={workbench.outlet_b}").status_code == 404
    assert manager_a.get("/lists/wealth_targets?page=0").status_code == 422
    assert manager_a.get("/lists/wealth_targets/export?format=pdf").status_code == 422
    assert viewer.get("/lists/wealth_targets").status_code == 403
    assert viewer.get("/lists/wealth_targets/export?format=csv").status_code == 403


def test_rural_list_is_scoped_by_the_customers_home_outlet(
    workbench: Workbench, manager_b: TestClient
) -> None:
    if not workbench.app.state.run.has("rural_selection"):
        pytest.skip("this run selected no rural customers")
    rural = _table(workbench, "rural_selection")
    page = manager_b.get("/lists/rural_selection")
    assert page.status_code == 200
    mine = rural[rural["home_outlet_id"] == workbench.outlet_b].sort_values(["rank_in_outlet", "customer_id"])
    expected = mine["customer_id"]
    assert _attrs(page.text, "data-customer-id") == list(expected.iloc[:50])
    assert set(_attrs(page.text, "data-outlet-id")) <= {workbench.outlet_b}


def _stamp_checks(lines: list[str], username: str, as_of: str) -> None:
    text = "\n".join(lines)
    assert "导出人 exported by: " in text and username in text
    assert re.search(r"导出时间 exported at: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text)
    assert f"数据截至 as of: {as_of}" in text
    assert "范围 scope: " in text


def test_list_exports_are_masked_stamped_and_audited(workbench: Workbench, manager_a: TestClient) -> None:
    targets = _table(workbench, "wealth_targets")
    mine = targets[targets["outlet_id"] == workbench.outlet_a]
    as_of = workbench.app.state.run.as_of
    before = len(_events(workbench, "manager_a", "export"))

    answer = manager_a.get("/lists/wealth_targets/export?format=xlsx")
    assert answer.status_code == 200
    assert _file_name(answer, "wealth_targets", "manager_a", "xlsx")
    book = load_workbook(io.BytesIO(answer.content), read_only=True)
    about, data = (list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets)
    _stamp_checks([f"{label}: {value}" for label, value in about], "manager_a", as_of)
    header, rows = data[0], data[1:]
    assert "手机号 phone" in header and "推荐理由 reasons" in header
    assert len(rows) == len(mine)
    phone = header.index("手机号 phone")
    assert _masked([r[phone] for r in rows])
    assert {r[header.index("客户号 customer id")] for r in rows} == set(mine["customer_id"])

    answer = manager_a.get(f"/lists/wealth_targets/export?format=csv&outlet_id={workbench.outlet_a}")
    assert answer.status_code == 200 and answer.content.startswith(b"\xef\xbb\xbf")
    assert _file_name(answer, "wealth_targets", "manager_a", "csv")
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    blank = lines.index([])
    _stamp_checks([row[0] for row in lines[:blank]], "manager_a", as_of)
    header, rows = lines[blank + 1], lines[blank + 2 :]
    assert len(rows) == len(mine)
    assert _masked([r[header.index("手机号 phone")] for r in rows])

    events = _events(workbench, "manager_a", "export")[before:]
    assert [e.resource for e in events] == ["/lists/wealth_targets"] * 2
    details = [json.loads(e.detail) for e in events]
    assert [d["format"] for d in details] == ["xlsx", "csv"]
    assert all(d["rows"] == len(mine) for d in details)


# -- audience -----------------------------------------------------------------------------------------------------
def _expected_audience(workbench: Workbench, wanted: dict[str, bool], outlet: str | None) -> set[str]:
    tags = _table(workbench, "customer_tags")
    keep = pd.Series(True, index=tags.index)
    for tag, value in wanted.items():
        keep &= tags[tag].eq(True) if value else ~tags[tag].eq(True)
    if outlet is not None:
        keep &= tags["outlet_id"] == outlet
    return set(tags.loc[keep, "customer_id"])


def test_audience_counts_the_matching_customers_in_scope(
    workbench: Workbench, manager_a: TestClient, admin: TestClient
) -> None:
    for expression, wanted in ((BROAD, BROAD_TAGS), (EXAMPLE, EXAMPLE_TAGS)):
        for client, outlet in ((manager_a, workbench.outlet_a), (admin, None)):
            page = client.get(f"/audience?{urlencode({'expression': expression})}")
            assert page.status_code == 200
            count = re.search(r'data-testid="audience-result" data-count="(\d+)"', page.text)
            assert count and int(count.group(1)) == len(_expected_audience(workbench, wanted, outlet))
    page = manager_a.get(f"/audience?{urlencode({'expression': BROAD})}")
    assert len(_expected_audience(workbench, BROAD_TAGS, workbench.outlet_a)) > 0
    assert set(_attrs(page.text, "data-outlet-id")) == {workbench.outlet_a}
    assert 'data-tag="female_customer"' in page.text and "女性客群" in page.text
    form = manager_a.get("/audience")
    assert form.status_code == 200 and 'data-testid="audience-form"' in form.text
    assert 'data-testid="audience-result"' not in form.text


def test_audience_rejects_bad_expressions_and_viewers(manager_a: TestClient, viewer: TestClient) -> None:
    for bad in ("女性客群 AND", "no_such_tag", "(女性客群"):
        answer = manager_a.get(f"/audience?{urlencode({'expression': bad})}")
        assert answer.status_code == 422
        assert "客群表达式有误" in answer.text
    assert viewer.get("/audience").status_code == 403
    assert viewer.get(f"/audience/export?{urlencode({'expression': BROAD})}").status_code == 403


def test_audience_export_lists_the_customers_masked_stamped_and_audited(
    workbench: Workbench, manager_a: TestClient
) -> None:
    expected = _expected_audience(workbench, BROAD_TAGS, workbench.outlet_a)
    before = len(_events(workbench, "manager_a", "export"))
    answer = manager_a.get(f"/audience/export?{urlencode({'expression': BROAD, 'format': 'csv'})}")
    assert answer.status_code == 200
    assert _file_name(answer, "audience", "manager_a", "csv")
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    blank = lines.index([])
    _stamp_checks([row[0] for row in lines[:blank]], "manager_a", workbench.app.state.run.as_of)
    header, rows = lines[blank + 1], lines[blank + 2 :]
    assert {r[header.index("客户号 customer id")] for r in rows} == expected
    raw = _table(workbench, "customers").set_index("customer_id")["name"]
    names = [r[header.index("姓名 name")] for r in rows]
    assert all("*" in n for n in names) and not {raw[r[0]] for r in rows} & set(names)
    assert "理财倾向评分 wealth score" in header
    event = _events(workbench, "manager_a", "export")[before:]
    assert len(event) == 1 and event[0].resource == "/audience"
    assert json.loads(event[0].detail)["rows"] == len(expected)
    xlsx = manager_a.get(f"/audience/export?{urlencode({'expression': BROAD})}")
    assert xlsx.status_code == 200 and _file_name(xlsx, "audience", "manager_a", "xlsx")
