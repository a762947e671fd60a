"""微商圈, 风险监测 and 模型与用例 pages: what each role sees, limited to its outlets. Expectations are computed from
the run's tables (``run.table``, unscoped) and files, and compared with what the pages answer."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from tests.app.conftest import Workbench

from youshu.app.pages.catalogue import METRIC_ZH
from youshu.app.pages.risk import HIDDEN_ACCOUNT, INTERNAL_ACCOUNT, hide_accounts
from youshu.geo.map import MARKER_COLOURS
from youshu.registry.usecases import load_use_cases

FIGURE = re.compile(
    r'<script type="application/json" class="figure" data-target="(?P<id>[^"]+)"[^>]*>(?P<json>.*?)</script>',
    re.S,
)
ROW = re.compile(r"<tr (?P<attrs>[^>]*data-[a-z-]+-id=[^>]*)>(?P<body>.*?)</tr>", re.S)
BADGE = re.compile(r'<span class="badge">([^<]*)</span>')


def _run(workbench: Workbench, name: str) -> pd.DataFrame:
    return workbench.app.state.run.table(name)


def _section(html: str, testid: str) -> str:
    """The element (table, div) carrying ``data-testid=testid``, up to its closing tag."""
    found = re.search(rf'<(?P<tag>\w+)[^>]*data-testid="{testid}"[^>]*>.*?</(?P=tag)>', html, re.S)
    assert found, f"no element with data-testid={testid}"
    return found.group(0)


def _rows(html: str) -> list[dict[str, str]]:
    """Rows with data-*-id attributes: their attributes plus the row's inner HTML as ``body``."""
    rows = []
    for m in ROW.finditer(html):
        attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', m.group("attrs")))
        rows.append({**attrs, "body": m.group("body")})
    return rows


def _figure(html: str, target: str) -> dict:
    for m in FIGURE.finditer(html):
        if m.group("id") == target:
            return json.loads(m.group("json"))
    raise AssertionError(f"no figure for #{target}")


def _true(value: object) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def _kpi(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">.*?<div class="value">([^<]*)</div>', html, re.S)
    assert found, f"no KPI {testid}"
    return found.group(1).strip()


@pytest.fixture(scope="module")
def admin(workbench: Workbench) -> TestClient:
    return workbench.client("admin")


@pytest.fixture(scope="module")
def manager_a(workbench: Workbench) -> TestClient:
    return workbench.client("manager_a")


@pytest.fixture(scope="module")
def viewer(workbench: Workbench) -> TestClient:
    return workbench.client("viewer")


# -- 微商圈 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["admin", "manager_a", "viewer"])
def test_circles_lists_exactly_the_outlets_in_scope_with_a_linked_map(
    workbench: Workbench, username: str
) -> None:
    page = workbench.client(username).get("/circles")
    assert page.status_code == 200
    summary = _run(workbench, "circle_summary")
    scope = workbench.users[username].outlets
    expected = set(summary["outlet_id"]) if scope is None else set(summary["outlet_id"]) & scope
    rows = _rows(_section(page.text, "circle-summary"))
    shown = [r["data-outlet-id"] for r in rows]
    assert set(shown) <= expected and len(shown) == min(len(expected), 100)
    assert all(f'href="/circles/{o}"' in r["body"] for o, r in zip(shown, rows, strict=True))
    assert 'data-testid="circles-map"' in page.text
    fig = _figure(page.text, "outlets-map")
    links = {c for t in fig["data"] for c in t.get("customdata", [])}
    assert links == {f"/circles/{o}" for o in expected}
    assert 'data-link="1"' in page.text  # clicking a marker follows its customdata


def test_circles_sort_by_penetration_orders_the_rows(admin: TestClient, workbench: Workbench) -> None:
    penetration = _run(workbench, "circle_summary").set_index("outlet_id")["penetration"]
    for order in ("desc", "asc"):
        page = admin.get(f"/circles?sort=penetration&order={order}")
        assert page.status_code == 200
        shown = [r["data-outlet-id"] for r in _rows(_section(page.text, "circle-summary"))]
        values = penetration.loc[shown]
        known = values.dropna().tolist()
        assert known == sorted(known, reverse=order == "desc")
        assert not values.isna().to_numpy()[: len(known)].any(), "outlets without merchants come last"
    assert admin.get("/circles?sort=name; drop").status_code == 422


def test_circle_page_shows_the_outlets_merchants_alerts_and_vips(
    manager_a: TestClient, workbench: Workbench
) -> None:
    outlet = workbench.outlet_a
    page = manager_a.get(f"/circles/{outlet}")
    assert page.status_code == 200
    members = _run(workbench, "circle_members").query("outlet_id == @outlet")
    rows = _rows(_section(page.text, "circle-merchants"))
    assert {r["data-outlet-id"] for r in rows} == {outlet}
    assert sorted(r["data-merchant-id"] for r in rows) == sorted(members["merchant_id"])
    for testid, table in (("merchant-alerts", "merchant_alerts"), ("merchant-vip", "merchant_vip")):
        expected = _run(workbench, table).query("outlet_id == @outlet")
        shown = _rows(_section(page.text, testid))
        assert {r["data-outlet-id"] for r in shown} <= {outlet}
        assert sorted(r["data-merchant-id"] for r in shown) == sorted(expected["merchant_id"])
    for alert in _run(workbench, "merchant_alerts").query("outlet_id == @outlet").itertuples():
        assert alert.rule_zh in page.text and alert.evidence_zh in page.text
    for testid in ("circle-map", "circle-tags", "circle-categories"):
        assert f'data-testid="{testid}"' in page.text
    tags = _run(workbench, "circle_tags").query("outlet_id == @outlet")
    assert {r["data-tag-id"] for r in _rows(_section(page.text, "circle-tags"))} == set(tags["tag_id"])


def test_circle_merchants_carry_their_true_tags_by_zh_name(
    manager_a: TestClient, workbench: Workbench
) -> None:
    outlet = workbench.outlet_a
    run = workbench.app.state.run
    names = run.json("tags/merchant_tags/as_of_date={as_of}/audience/index.json")["names"]
    wide = _run(workbench, "merchant_tags").set_index("merchant_id")
    page = manager_a.get(f"/circles/{outlet}")
    checked = 0
    for row in _rows(_section(page.text, "circle-merchants")):
        merchant = row["data-merchant-id"]
        badges = set(BADGE.findall(row["body"]))
        # every merchant of the user's circle shows its tags, also one whose home is another outlet
        assert merchant in wide.index, merchant
        expected = {zh for tag, zh in names.items() if tag in wide.columns and _true(wide.loc[merchant, tag])}
        assert badges == expected, merchant
        checked += bool(expected)
    assert checked, "no merchant of outlet A has a tag to check"


def test_circle_map_draws_the_ring_and_every_merchant_by_status(
    admin: TestClient, workbench: Workbench
) -> None:
    outlet = workbench.outlet_a
    fig = _figure(admin.get(f"/circles/{outlet}").text, "circle-map")
    members = _run(workbench, "circle_members").query("outlet_id == @outlet")
    traces = {t["name"]: t for t in fig["data"]}
    assert any(n.startswith("微商圈") for n in traces), "no circle ring"
    drawn = {n: len(t["x"]) for n, t in traces.items() if n in MARKER_COLOURS}
    assert sum(drawn.values()) == len(members)
    assert drawn.get("有效商户 effective", 0) == int(members["is_effective"].sum())
    # tile-free: plain x/y scatter traces, no map or geo subplot that would fetch tiles or topojson
    assert {t.get("type", "scatter") for t in fig["data"]} == {"scatter"}
    assert not {"mapbox", "map", "geo"} & set(fig["layout"])


def test_circle_of_another_outlet_is_not_found(
    manager_a: TestClient, admin: TestClient, workbench: Workbench
) -> None:
    assert manager_a.get(f"/circles/{workbench.outlet_b}").status_code == 404
    assert admin.get(f"/circles/{workbench.outlet_b}").status_code == 200
    assert admin.get("/circles/NO_SUCH_OUTLET").status_code == 404


# -- 风险监测 -------------------------------------------------------------------------------------------------------
def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    day = frame["as_of_date"].astype(str)
    return frame[day == day.max()]


@pytest.mark.parametrize("username", ["admin", "manager_a"])
def test_risk_page_shows_kpis_trends_and_the_alerts_in_scope(workbench: Workbench, username: str) -> None:
    page = workbench.client(username).get("/risk")
    assert page.status_code == 200
    scope = workbench.users[username].outlets
    by_outlet = _latest(_run(workbench, "risk_by_outlet"))
    alerts = _latest(_run(workbench, "risk_alerts"))
    if scope is not None:
        by_outlet = by_outlet[by_outlet["outlet_id"].isin(scope)]
        alerts = alerts[alerts["outlet_id"].isin(scope)]
    assert _kpi(page.text, "kpi-alerts") == f"{int(by_outlet['alerts'].sum()):,}"
    validation = _run(workbench, "risk_validation")
    assert _kpi(page.text, "kpi-pr-auc") == f"{validation['pr_auc'].iloc[0]:.3f}"
    high = _latest(_run(workbench, "risk_high_trend").query("county_id == '全省'"))
    assert _kpi(page.text, "kpi-high-risk") == f"{int(high['high_risk'].iloc[0]):,}"
    for testid in ("risk-trend", "risk-high-trend", "risk-by-outlet", "risk-rising", "risk-drift"):
        assert f'data-testid="{testid}"' in page.text
    rows = _rows(_section(page.text, "risk-alerts"))
    assert sorted(r["data-account-id"] for r in rows) == sorted(alerts["account_id"])
    assert {r["data-outlet-id"] for r in rows} <= (scope or set(alerts["outlet_id"]))
    outlet_rows = {r["data-outlet-id"] for r in _rows(_section(page.text, "risk-by-outlet"))}
    assert outlet_rows and (scope is None or outlet_rows <= scope)
    holders = set(alerts["name"].dropna())
    assert not any(h in page.text for h in holders if "*" not in h), "a holder name is shown unmasked"


def test_risk_drift_badges_follow_the_psi_status(admin: TestClient, workbench: Workbench) -> None:
    page = admin.get("/risk").text
    drift = _run(workbench, "risk_drift")
    rows = dict(re.findall(r'<tr data-feature="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == set(drift["feature"])
    for d in drift.itertuples():
        assert d.status in rows[d.feature]
        if d.status.startswith("drift"):
            assert 'class="badge bad"' in rows[d.feature]


def test_viewer_sees_risk_aggregates_but_no_alert_list(viewer: TestClient, workbench: Workbench) -> None:
    page = viewer.get("/risk")
    assert page.status_code == 200
    assert 'data-testid="risk-alerts-hidden"' in page.text
    assert 'data-testid="risk-alerts"' not in page.text and "data-account-id" not in page.text
    alerts = _run(workbench, "risk_alerts")
    assert not any(a in page.text for a in alerts["account_id"])
    assert 'data-testid="kpi-alerts"' in page.text and 'data-testid="risk-drift"' in page.text


def test_counterparties_at_other_outlets_are_hidden_from_scoped_users(
    manager_a: TestClient, admin: TestClient, workbench: Workbench
) -> None:
    outlet = workbench.outlet_a
    accounts = _run(workbench, "accounts")
    own = set(accounts.loc[accounts["outlet_id"] == outlet, "account_id"])
    alerts = _latest(_run(workbench, "risk_alerts")).set_index("account_id")
    scoped = {
        r["data-account-id"]: r["body"] for r in _rows(_section(manager_a.get("/risk").text, "risk-alerts"))
    }
    assert scoped, "outlet A has no alerts to check"
    hidden = 0
    for account, body in scoped.items():
        cell = re.search(r'data-testid="counterparties">(.*?)</td>', body, re.S).group(1)
        raw = alerts.loc[account, "counterparties"]
        assert set(INTERNAL_ACCOUNT.findall(cell)) <= own
        assert set(re.findall(r"EXT\d+", cell)) == set(re.findall(r"EXT\d+", raw))
        others = [a for a in INTERNAL_ACCOUNT.findall(raw) if a not in own]
        assert cell.count(HIDDEN_ACCOUNT) == len(others)
        hidden += len(others)
    full = {r["data-account-id"]: r["body"] for r in _rows(_section(admin.get("/risk").text, "risk-alerts"))}
    assert all(HIDDEN_ACCOUNT not in body for body in full.values()), "the whole-province view hides nothing"
    if not hidden:
        pytest.skip("no alert of outlet A names an account of another outlet in this run")


def test_hide_accounts_replaces_only_internal_ids_outside_the_scope() -> None:
    text = "转入←A0000000010 2笔 100元；转出→A0000000020 1笔 5元；转入←EXT0000000001 1笔 9元；转出→UTL0000000003 1笔 3元"
    assert hide_accounts(text, {"A0000000010"}) == (
        f"转入←A0000000010 2笔 100元；转出→{HIDDEN_ACCOUNT} 1笔 5元；转入←EXT0000000001 1笔 9元；转出→UTL0000000003 1笔 3元"
    )
    assert hide_accounts(None, set()) == ""


# -- 模型与用例 -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["admin", "manager_a", "viewer"])
def test_models_page_lists_registered_models_and_use_cases(workbench: Workbench, username: str) -> None:
    page = workbench.client(username).get("/models")
    assert page.status_code == 200
    registered = workbench.app.state.run.json("registry/registered.json")
    assert registered, "the test run registered no model"
    shown = set(re.findall(r'<tr data-model="([^"]+)"', _section(page.text, "models-registered")))
    assert shown == {m["name"] for m in registered}
    for m in registered:
        assert f'href="/models/{m["name"]}"' in page.text and m["name_zh"] in page.text
    cases = load_use_cases()
    assert set(re.findall(r'data-use-case="([^"]+)"', page.text)) == {c.id for c in cases}
    for case in cases:
        assert case.business_area.value in page.text
        for outcome in case.outcomes:
            assert str(escape(outcome.measured_on)) in page.text


def test_model_card_page_renders_the_card(viewer: TestClient, workbench: Workbench) -> None:
    run = workbench.app.state.run
    for entry in run.json("registry/registered.json"):
        card = run.json(f"registry/{entry['name']}/model_card.json")
        page = viewer.get(f"/models/{entry['name']}")
        assert page.status_code == 200
        for field in ("name_zh", "intended_use", "limitations"):
            assert str(escape(card[field])) in page.text, field
        metrics = _section(page.text, "model-metrics")
        assert all(METRIC_ZH.get(key, key) in metrics for key in card["metrics"])
        features = _section(page.text, "model-features")
        assert len(BADGE.findall(features)) == len(card["features"])


@pytest.mark.parametrize("name", ["no_such_model", "%2E%2E", "registered.json"])
def test_unknown_model_is_not_found(admin: TestClient, name: str) -> None:
    assert admin.get(f"/models/{name}").status_code == 404
