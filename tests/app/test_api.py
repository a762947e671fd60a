"""The JSON API under /api/v1: shapes, pagination, errors (401/403/404/422 with a readable detail), scope and
masking, and values equal to the run's tables (``run.table``, unscoped, read by the test only)."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.app.conftest import Workbench

from youshu.app.api.common import MAX_PAGE_SIZE

MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
MASKED_NAME = re.compile(r"^.\*+$")
INTERNAL_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])A\d+(?![0-9A-Za-z])")
BROAD = "女性客群 AND NOT 沉睡客户"

#: Every endpoint, with the arguments it needs ({a} = outlet A, {c} = a customer of outlet A).
ENDPOINTS = [
    "/api/v1/customers",
    "/api/v1/customers/{c}",
    "/api/v1/lists",
    "/api/v1/lists/wealth_targets",
    "/api/v1/lists/rural_selection",
    "/api/v1/circles",
    "/api/v1/circles/{a}/merchants",
    "/api/v1/alerts/risk",
    "/api/v1/alerts/merchants",
    f"/api/v1/audience/count?expression={BROAD}",
]
#: Endpoints that list customers (or accounts): a viewer is refused.
CUSTOMER_ROWS = {
    "/api/v1/customers",
    "/api/v1/customers/{c}",
    "/api/v1/lists/wealth_targets",
    "/api/v1/lists/rural_selection",
    "/api/v1/alerts/risk",
    f"/api/v1/audience/count?expression={BROAD}",
}


def _table(workbench: Workbench, name: str) -> pd.DataFrame:
    return workbench.app.state.run.table(name)


def _get(client: TestClient, url: str, status: int = 200) -> Any:
    answer = client.get(url)
    assert answer.status_code == status, f"{url}: {answer.status_code} {answer.text[:300]}"
    return answer.json()


def _all(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every item of a paginated endpoint, page by page at the largest page size."""
    sep = "&" if "?" in url else "?"
    first = _get(client, f"{url}{sep}page_size={MAX_PAGE_SIZE}")
    items = list(first["items"])
    for page in range(2, first["pages"] + 1):
        items += _get(client, f"{url}{sep}page_size={MAX_PAGE_SIZE}&page={page}")["items"]
    assert len(items) == first["total"]
    return items


def _is_true(value: Any) -> bool:
    return isinstance(value, bool | np.bool_) and bool(value)


def _fill(url: str, workbench: Workbench) -> str:
    return url.format(a=workbench.outlet_a, c=_customer_of(workbench, workbench.outlet_a))


def _customer_of(workbench: Workbench, outlet: str) -> str:
    """A customer of ``outlet`` with a wealth score, an IVL row and a risk flag."""
    customers = _table(workbench, "customers")
    mine = set(customers.loc[customers["outlet_id"] == outlet, "customer_id"])
    for name in ("wealth_scores", "customer_ivl", "customer_risk_flags"):
        mine &= set(_table(workbench, name)["customer_id"])
    return sorted(mine)[0]


@pytest.fixture(scope="module")
def admin(workbench: Workbench) -> TestClient:
    return workbench.client("admin")


@pytest.fixture(scope="module")
def manager_a(workbench: Workbench) -> TestClient:
    return workbench.client("manager_a")


@pytest.fixture(scope="module")
def viewer(workbench: Workbench) -> TestClient:
    return workbench.client("viewer")


# -- access ----------------------------------------------------------------------------------------------------------
def test_every_endpoint_answers_401_without_login(workbench: Workbench) -> None:
    anonymous = workbench.client()
    for url in ENDPOINTS:
        answer = anonymous.get(_fill(url, workbench))
        assert answer.status_code == 401, url
        assert "not logged in" in answer.json()["detail"]


def test_viewer_is_refused_customer_rows_but_sees_aggregates(
    workbench: Workbench, viewer: TestClient
) -> None:
    for url in ENDPOINTS:
        answer = viewer.get(_fill(url, workbench))
        if url in CUSTOMER_ROWS:
            assert answer.status_code == 403, url
            assert "无权限" in answer.json()["detail"]
        else:
            assert answer.status_code == 200, f"{url}: {answer.text[:300]}"
    lists = {i["name"]: i["rows"] for i in _get(viewer, "/api/v1/lists")["items"]}
    targets = _table(workbench, "wealth_targets")
    assert lists["wealth_targets"] == (targets["outlet_id"] == workbench.outlet_a).sum() > 0


# -- pagination and errors -------------------------------------------------------------------------------------------
def test_pages_split_the_rows_with_total_and_page_count(workbench: Workbench, admin: TestClient) -> None:
    total = len(_table(workbench, "customers"))
    first = _get(admin, "/api/v1/customers?page_size=7")
    assert (first["page"], first["page_size"], first["total"]) == (1, 7, total)
    assert first["pages"] == math.ceil(total / 7)
    assert len(first["items"]) == 7
    second = _get(admin, "/api/v1/customers?page_size=7&page=2")
    assert {i["customer_id"] for i in first["items"]}.isdisjoint(i["customer_id"] for i in second["items"])
    ids = [i["customer_id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids)
    last = _get(admin, f"/api/v1/customers?page_size=7&page={first['pages']}")
    assert len(last["items"]) == total - 7 * (first["pages"] - 1)
    beyond = _get(admin, f"/api/v1/customers?page_size=7&page={first['pages'] + 1}")
    assert beyond["items"] == [] and beyond["total"] == total


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "query.page"),
        ("page=x", "query.page"),
        ("page_size=0", "query.page_size"),
        (f"page_size={MAX_PAGE_SIZE + 1}", "query.page_size"),
        ("intimacy_level=很高", "query.intimacy_level"),
        ("value_level=high", "query.value_level"),
        ("lifecycle_stage=sleeping", "query.lifecycle_stage"),
        ("outlet_id=O%2F..%2F1", "query.outlet_id"),
        ("outlet_id=" + "9" * 33, "query.outlet_id"),
        ("segment=", "query.segment"),
    ],
)
def test_invalid_input_is_422_naming_the_field(admin: TestClient, query: str, field: str) -> None:
    answer = admin.get(f"/api/v1/customers?{query}")
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("invalid input: ") and field in body["detail"]
    assert [e["field"] for e in body["errors"]] == [field]


def test_bad_ids_and_expressions_are_422_and_unknown_ones_404(
    workbench: Workbench, manager_a: TestClient
) -> None:
    for url in (
        "/api/v1/customers/C%20X",
        "/api/v1/lists/wealth%3Btargets",
        "/api/v1/circles/a%2Cb/merchants",
    ):
        assert manager_a.get(url).status_code == 422, url
    for url in (
        "/api/v1/customers/C999999999",
        "/api/v1/lists/nonexistent",
        "/api/v1/circles/O99999/merchants",
    ):
        answer = manager_a.get(url)
        assert answer.status_code == 404, url
        assert "not found" in answer.json()["detail"]
    assert "wealth_targets" in manager_a.get("/api/v1/lists/nonexistent").json()["detail"]
    for expression in ("女性客群 AND", "没有这个标签", "(女性客群"):
        answer = manager_a.get("/api/v1/audience/count", params={"expression": expression})
        assert answer.status_code == 422, expression
        assert "invalid audience expression" in answer.json()["detail"]
    assert manager_a.get("/api/v1/customers", params={"segment": "女性客群 OR"}).status_code == 422
    missing = manager_a.get("/api/v1/audience/count")
    assert missing.status_code == 422 and "query.expression" in missing.json()["detail"]


def test_openapi_documents_every_route_in_zh_and_en_with_the_real_error_shape(admin: TestClient) -> None:
    schema = admin.get("/api/openapi.json").json()
    mine = {
        p: ops for p, ops in schema["paths"].items() if p.startswith("/api/v1/") and p not in {"/api/v1/me"}
    }
    assert len(mine) >= 9
    for path, operations in mine.items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if path == "/api/v1/outlets":
                continue
            assert re.search(r"[\u4e00-\u9fff]", operation["summary"]) and re.search(
                "[A-Za-z]", operation["summary"]
            ), where
            assert re.search(r"[\u4e00-\u9fff]", operation["description"]), where
            invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert invalid.endswith("/InvalidInput"), where
            assert "404" in operation["responses"] and "401" in operation["responses"], where


# -- customers -------------------------------------------------------------------------------------------------------
def test_manager_sees_exactly_the_customers_of_their_outlet(
    workbench: Workbench, manager_a: TestClient
) -> None:
    customers = _table(workbench, "customers")
    expected = set(customers.loc[customers["outlet_id"] == workbench.outlet_a, "customer_id"])
    items = _all(manager_a, "/api/v1/customers")
    assert {i["customer_id"] for i in items} == expected
    assert {i["outlet_id"] for i in items} == {workbench.outlet_a}
    assert all(MASKED_NAME.match(i["name"]) for i in items if i["name"])
    raw = dict(zip(customers["customer_id"], customers["name"], strict=True))
    assert not any(
        i["name"] == raw[i["customer_id"]] for i in items if i["name"] and len(raw[i["customer_id"]]) > 1
    )
    assert manager_a.get(f"/api/v1/customers?outlet_id={workbench.outlet_b}").status_code == 404


def test_customer_items_carry_the_runs_ivl_and_wealth_score(workbench: Workbench, admin: TestClient) -> None:
    ivl = _table(workbench, "customer_ivl").set_index("customer_id")
    wealth = _table(workbench, "wealth_scores").set_index("customer_id")
    items = _get(admin, "/api/v1/customers?page_size=200&page=3")["items"]
    assert len(items) == 200
    for item in items:
        cid = item["customer_id"]
        assert item["intimacy_level"] == ivl.loc[cid, "intimacy_level"]
        assert item["aum_fen"] == ivl.loc[cid, "aum_fen"]
        assert item["ivl_tag"] == ivl.loc[cid, "ivl_tag"]
        if cid in wealth.index:
            assert item["wealth_score"] == pytest.approx(wealth.loc[cid, "score"])
            assert item["wealth_rank"] == wealth.loc[cid, "rank"]


def test_customer_filters_match_the_run(
    workbench: Workbench, admin: TestClient, manager_a: TestClient
) -> None:
    ivl = _table(workbench, "customer_ivl")
    for level in ("高", "低"):
        body = _get(admin, f"/api/v1/customers?intimacy_level={level}&page_size=50")
        assert body["total"] == (ivl["intimacy_level"] == level).sum() > 0
        assert {i["intimacy_level"] for i in body["items"]} == {level}
    stage = ivl["lifecycle_stage"].value_counts().index[-1]
    body = _get(admin, f"/api/v1/customers?lifecycle_stage={stage}&value_level=中")
    expected = ((ivl["lifecycle_stage"] == stage) & (ivl["value_level"] == "中")).sum()
    assert body["total"] == expected
    audience = workbench.app.state.run.audience()
    assert _get(admin, f"/api/v1/customers?{urlencode({'segment': BROAD})}")["total"] == audience.count(BROAD)
    mine = _get(manager_a, f"/api/v1/customers?{urlencode({'segment': BROAD})}")
    assert mine["total"] == audience.count_by_outlet(BROAD).get(workbench.outlet_a, 0) > 0


def test_customer_detail_equals_the_runs_tables_and_is_masked(
    workbench: Workbench, manager_a: TestClient
) -> None:
    cid = _customer_of(workbench, workbench.outlet_a)
    body = _get(manager_a, f"/api/v1/customers/{cid}")
    raw = _table(workbench, "customers").set_index("customer_id").loc[cid]
    assert body["customer_id"] == cid and body["outlet_id"] == workbench.outlet_a
    assert MASKED_PHONE.match(body["phone"]) and body["phone"] != raw["phone"]
    assert body["phone"][-4:] == raw["phone"][-4:]
    assert MASKED_NAME.match(body["name"]) and body["name"][0] == raw["name"][0]
    assert "*" in body["id_card_no"] and body["id_card_no"] != raw["id_card_no"]
    wealth = _table(workbench, "wealth_scores").set_index("customer_id").loc[cid]
    assert body["wealth"]["score"] == pytest.approx(wealth["score"])
    assert body["wealth"]["rank"] == wealth["rank"]
    assert body["wealth"]["reasons"] == [wealth["reason_1"], wealth["reason_2"], wealth["reason_3"]]
    ivl = _table(workbench, "customer_ivl").set_index("customer_id").loc[cid]
    for field in ("aum_fen", "intimacy_level", "value_level", "lifecycle_stage", "ivl_tag"):
        assert body["ivl"][field] == ivl[field], field
    risk = _table(workbench, "customer_risk_flags").set_index("customer_id").loc[cid]
    assert body["risk"]["is_risky_account"] == bool(risk["is_risky_account"])
    assert body["risk"]["alerted_accounts"] == risk["alerted_accounts"]
    tags = _table(workbench, "customer_tags").set_index("customer_id").loc[cid]
    true_tags = {c for c, v in tags.items() if _is_true(v)}
    assert {t["tag_id"] for t in body["tags"]} == true_tags
    assert all(t["name_zh"] for t in body["tags"])
    values = {t["tag_id"]: t["value"] for t in body["tag_values"]}
    categorical = {
        c: v for c, v in tags.items() if isinstance(v, str) and c not in {"outlet_id", "as_of_date"}
    }
    assert categorical and {c: values.get(c) for c in categorical} == categorical


def test_customer_outside_scope_is_404_for_a_manager_and_200_for_admin(
    workbench: Workbench, admin: TestClient, manager_a: TestClient
) -> None:
    other = _customer_of(workbench, workbench.outlet_b)
    answer = manager_a.get(f"/api/v1/customers/{other}")
    assert answer.status_code == 404
    assert other in answer.json()["detail"] and "not in your scope" in answer.json()["detail"]
    assert _get(admin, f"/api/v1/customers/{other}")["outlet_id"] == workbench.outlet_b


# -- lists -----------------------------------------------------------------------------------------------------------
def test_lists_count_the_rows_in_scope(
    workbench: Workbench, admin: TestClient, manager_a: TestClient
) -> None:
    everything = {i["name"]: i for i in _get(admin, "/api/v1/lists")["items"]}
    assert set(everything) == {"wealth_targets", "rural_selection"}
    assert everything["wealth_targets"]["name_zh"] == "理财营销名单"
    assert everything["wealth_targets"]["rows"] == len(_table(workbench, "wealth_targets"))
    assert everything["rural_selection"]["rows"] == len(_table(workbench, "rural_selection"))
    mine = {i["name"]: i["rows"] for i in _get(manager_a, "/api/v1/lists")["items"]}
    rural = _table(workbench, "rural_selection")
    assert mine["rural_selection"] == (rural["home_outlet_id"] == workbench.outlet_a).sum()


def test_list_rows_are_the_runs_in_rank_order_masked(workbench: Workbench, manager_a: TestClient) -> None:
    targets = _table(workbench, "wealth_targets")
    expected = targets[targets["outlet_id"] == workbench.outlet_a].sort_values("rank_in_outlet")
    items = _all(manager_a, "/api/v1/lists/wealth_targets")
    assert [i["customer_id"] for i in items] == list(expected["customer_id"])
    assert [i["score"] for i in items] == pytest.approx(list(expected["score"]))
    assert all(MASKED_PHONE.match(i["phone"]) for i in items if i["phone"])
    assert any(i["phone"] for i in items)
    assert items[0]["reasons"] == expected["reasons"].iloc[0]
    assert manager_a.get(f"/api/v1/lists/wealth_targets?outlet_id={workbench.outlet_b}").status_code == 404


def test_rural_list_uses_the_home_outlet_and_eligibility_score(
    workbench: Workbench, admin: TestClient
) -> None:
    rural = _table(workbench, "rural_selection")
    outlet = rural["home_outlet_id"].value_counts().index[0]
    body = _get(admin, f"/api/v1/lists/rural_selection?outlet_id={outlet}&page_size=3")
    assert body["total"] == (rural["home_outlet_id"] == outlet).sum()
    first = rural[rural["home_outlet_id"] == outlet].sort_values("rank_in_outlet").iloc[0]
    item = body["items"][0]
    assert (item["outlet_id"], item["customer_id"]) == (outlet, first["customer_id"])
    assert item["score"] == pytest.approx(first["eligibility_score"])
    assert item["chain_industry_zh"] == first["chain_industry_zh"] and item["campaign"] is None


# -- circles ---------------------------------------------------------------------------------------------------------
def test_circles_summarise_the_outlets_in_scope(
    workbench: Workbench, admin: TestClient, manager_a: TestClient
) -> None:
    summary = _table(workbench, "circle_summary")
    assert _get(admin, "/api/v1/circles?page_size=1")["total"] == len(summary)
    mine = _get(manager_a, "/api/v1/circles")
    assert [i["outlet_id"] for i in mine["items"]] == [workbench.outlet_a]
    row = summary.set_index("outlet_id").loc[workbench.outlet_a]
    assert mine["items"][0]["merchants"] == row["merchants"] > 0


def test_circle_merchants_with_their_true_tags(workbench: Workbench, manager_a: TestClient) -> None:
    members = _table(workbench, "circle_members")
    expected = members[members["outlet_id"] == workbench.outlet_a].sort_values(["distance_m", "merchant_id"])
    items = _all(manager_a, f"/api/v1/circles/{workbench.outlet_a}/merchants")
    assert [i["merchant_id"] for i in items] == list(expected["merchant_id"])
    tags = _table(workbench, "merchant_tags").drop_duplicates("merchant_id").set_index("merchant_id")
    checked = 0
    for item in items:
        assert item["tags"] is not None, item["merchant_id"]
        row = tags.loc[item["merchant_id"]]
        true_tags = {c for c, v in row.items() if _is_true(v)}
        assert {t["tag_id"] for t in item["tags"]} == true_tags, item["merchant_id"]
        checked += bool(true_tags)
        home = item["home_outlet_id"]
        assert home is None or home == workbench.outlet_a
    assert checked > 0
    raw_homes = set(expected["home_outlet_id"])
    if raw_homes - {workbench.outlet_a}:
        assert any(i["home_outlet_id"] is None for i in items)
    assert manager_a.get(f"/api/v1/circles/{workbench.outlet_b}/merchants").status_code == 404


# -- alerts ----------------------------------------------------------------------------------------------------------
def test_risk_alerts_in_scope_hide_accounts_outside_it(workbench: Workbench, admin: TestClient) -> None:
    alerts = _table(workbench, "risk_alerts")
    raw = dict(zip(alerts["account_id"], alerts["counterparties"].fillna(""), strict=True))
    everything = _all(admin, "/api/v1/alerts/risk")
    assert len(everything) == len(alerts) > 0
    assert all(MASKED_PHONE.match(a["phone"]) for a in everything if a["phone"])
    assert all(a["counterparties"] == raw[a["account_id"]] for a in everything)
    assert any(INTERNAL_ACCOUNT.search(text) for text in raw.values()), "no internal counterparty to hide"
    accounts = _table(workbench, "accounts")
    for username in ("manager_a", "manager_b", "analyst_cty"):
        outlets = workbench.users[username].outlets
        assert outlets is not None
        visible = set(accounts.loc[accounts["outlet_id"].isin(outlets), "account_id"])
        mine = _all(workbench.client(username), "/api/v1/alerts/risk")
        assert {a["account_id"] for a in mine} == set(
            alerts.loc[alerts["outlet_id"].isin(outlets), "account_id"]
        )
        for alert in mine:
            expected = INTERNAL_ACCOUNT.sub(
                lambda m, v=visible: m.group(0) if m.group(0) in v else "范围外行内账户",
                raw[alert["account_id"]],
            )
            assert alert["counterparties"] == expected
            assert set(INTERNAL_ACCOUNT.findall(alert["counterparties"])) <= visible


def test_merchant_alerts_in_scope_hide_owners_outside_it(
    workbench: Workbench, admin: TestClient, manager_a: TestClient, viewer: TestClient
) -> None:
    alerts = _table(workbench, "merchant_alerts")
    everything = _all(admin, "/api/v1/alerts/merchants")
    assert len(everything) == len(alerts)
    assert [a["owner_customer_id"] for a in everything if a["owner_customer_id"]]
    customers = _table(workbench, "customers")
    mine_customers = set(customers.loc[customers["outlet_id"] == workbench.outlet_a, "customer_id"])
    for client in (manager_a, viewer):
        mine = _all(client, "/api/v1/alerts/merchants")
        assert len(mine) == (alerts["outlet_id"] == workbench.outlet_a).sum()
        for alert in mine:
            assert alert["owner_customer_id"] is None or alert["owner_customer_id"] in mine_customers
    assert all(a["owner_customer_id"] is None for a in _all(viewer, "/api/v1/alerts/merchants"))
    rule = alerts["rule"].iloc[0]
    assert _get(admin, f"/api/v1/alerts/merchants?rule={rule}")["total"] == (alerts["rule"] == rule).sum()


# -- audience --------------------------------------------------------------------------------------------------------
def test_audience_counts_match_the_bitmaps_in_scope(
    workbench: Workbench, admin: TestClient, manager_a: TestClient
) -> None:
    audience = workbench.app.state.run.audience()
    body = admin.get("/api/v1/audience/count", params={"expression": BROAD}).json()
    assert body["expression"] == BROAD
    assert body["total"] == audience.count(BROAD)
    by_outlet = {o["outlet_id"]: o["customers"] for o in body["outlets"]}
    assert by_outlet == {k: v for k, v in audience.count_by_outlet(BROAD).items() if v}
    counts = [o["customers"] for o in body["outlets"]]
    assert counts == sorted(counts, reverse=True)
    mine = manager_a.get("/api/v1/audience/count", params={"expression": BROAD}).json()
    assert [o["outlet_id"] for o in mine["outlets"]] == [workbench.outlet_a]
    assert mine["total"] == by_outlet[workbench.outlet_a] > 0
