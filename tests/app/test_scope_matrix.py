"""Every endpoint × every role and scope: zero reads outside the scope.

The routes are enumerated from the app (every GET page and API route but login, vendored and static files and
the API docs), so a route added later is covered without touching this file — unless it has a parameter the
tables below do not know, which fails loudly with the route's path. Each route is called with its parameters in
the user's scope, then with each parameter moved outside the scope and to a value that does not exist; every
answer must be 200/403/404/422 (out-of-scope entities 404 or 403) and its body — HTML, JSON, CSV or Excel — must
name no customer, account, merchant or outlet outside the user's scope. Scope comes from the run's own tables
(read unscoped here): a customer's home outlet, an account's outlet, a merchant's circles and home outlet."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import load_workbook
from tests.app.conftest import Workbench

from youshu.app.pages.lists import LISTS

#: Ids of the synthetic province, as a page or answer would show them.
ID_PATTERNS = {
    "customer": re.compile(r"(?<![0-9A-Za-z])C\d{9}(?![0-9])"),
    "account": re.compile(r"(?<![0-9A-Za-z])A\d{10}(?![0-9])"),
    "merchant": re.compile(r"(?<![0-9A-Za-z])M\d{10}(?![0-9])"),
    "outlet": re.compile(r"(?<![0-9A-Za-z])O\d{5}(?![0-9])"),
}
#: Routes that are not the workbench's data: the login form, vendored JS, static files, the API docs.
SKIPPED = ("/login", "/vendor/", "/static", "/api/docs", "/api/openapi.json", "/docs", "/redoc")
#: Optional query parameters left at their defaults: paging, sorting, the login target, audit-log filters.
DEFAULTED = {"page", "page_size", "sort", "order", "next", "username", "action"}
USERS = ["admin", "analyst", "analyst_cty", "manager_a", "manager_b", "viewer"]
BROAD = "女性客群 AND NOT 沉睡客户"

#: What each kind of value may answer: in scope (or any), outside the scope, nonexistent, malformed.
EXPECTED = {
    "in": {200, 403},
    "any": {200, 403},
    "out": {403, 404},
    "missing": {403, 404, 422},
    "bad": {403, 422},
}


@dataclass(frozen=True)
class Value:
    """A parameter value and what kind it is for the user."""

    text: str
    kind: str


@dataclass
class Probe:
    """One user's view of the run: what is in their scope, and values to call routes with."""

    username: str
    workbench: Workbench
    outlets: frozenset[str] | None
    known: dict[str, set[str]]
    visible: dict[str, set[str]] = field(default_factory=dict)

    @property
    def run(self) -> Any:
        return self.workbench.app.state.run

    def allows(self, kind: str, entity: str) -> bool:
        """Whether an id of ``kind`` is in the user's scope: everything for province-wide users; for the others
        only ids of their outlets (an id unknown to the run is not)."""
        return self.outlets is None or entity in self.visible[kind]

    def _home(self) -> str:
        """The outlet a scoped value is taken from: outlet A when in scope, else the first of the user's."""
        if self.outlets is None or self.workbench.outlet_a in self.outlets:
            return self.workbench.outlet_a
        return sorted(self.outlets)[0]

    def _away(self) -> str | None:
        """An outlet with customers and a circle outside the user's scope (None for province-wide users)."""
        if self.outlets is None:
            return None
        for outlet in (self.workbench.outlet_b, self.workbench.outlet_a):
            if outlet not in self.outlets:
                return outlet
        raise AssertionError(f"{self.username} sees both standard outlets")

    def outlet_values(self) -> list[Value]:
        away = self._away()
        missing = "O99999"
        assert missing not in self.known["outlet"]
        return [Value(self._home(), "in"), *([Value(away, "out")] if away else []), Value(missing, "missing")]

    def customer_values(self) -> list[Value]:
        away = self._away()
        missing = "C999999999"
        assert missing not in self.known["customer"]
        values = [Value(_customer_of(self.run, self._home()), "in")]
        if away is not None:
            values.append(Value(_customer_of(self.run, away), "out"))
        return [*values, Value(missing, "missing")]

    def name_values(self, route: str) -> list[Value]:
        """Names in a path: of a list (``/lists/{name}``) or of a registered model (``/models/{name}``)."""
        section = route.removeprefix("/api/v1").split("/")[1]
        if section == "lists":
            names = [n for n, spec in LISTS.items() if self.run.has(spec.table)]
        elif section == "models":
            registered = self.run.json("registry/registered.json") or []
            names = [str(m["name"]) for m in registered if isinstance(m, dict) and m.get("name")]
        else:
            raise AssertionError(f"{route}: add its {{name}} values to Probe.name_values")
        return [*(Value(n, "in") for n in names), Value(f"no_such_{section}", "missing")]

    def cell(self) -> pd.Series:
        """The IVL row of a customer in scope (its cell has customers in scope)."""
        ivl = self.run.table("customer_ivl")
        return ivl[ivl["customer_id"] == _customer_of(self.run, self._home())].iloc[0]


def _customer_of(run: Any, outlet: str) -> str:
    """A customer of ``outlet`` with an IVL row and a wealth score (so the customer pages have content)."""
    customers = run.table("customers")
    mine = set(customers.loc[customers["outlet_id"] == outlet, "customer_id"])
    mine &= set(run.table("customer_ivl")["customer_id"]) & set(run.table("wealth_scores")["customer_id"])
    return sorted(mine)[0]


def _expressions(_p: Probe) -> list[Value]:
    return [Value(BROAD, "any"), Value("女性客群 AND", "bad")]


#: Path parameters by name -> values (route path given for names that mean different things on two routes).
PATH_VALUES: dict[str, Callable[[Probe, str], list[Value]]] = {
    "customer_id": lambda p, _route: p.customer_values(),
    "outlet_id": lambda p, _route: p.outlet_values(),
    "name": lambda p, route: p.name_values(route),
}
#: Query parameters by name -> values; the first is used where the parameter is required.
QUERY_VALUES: dict[str, Callable[[Probe], list[Value]]] = {
    "outlet_id": lambda p: p.outlet_values(),
    "customer_id": lambda p: p.customer_values(),
    "expression": _expressions,
    "segment": _expressions,
    "intimacy": lambda p: [Value(str(p.cell()["intimacy_level"]), "any"), Value("很高", "bad")],
    "value": lambda p: [Value(str(p.cell()["value_level"]), "any")],
    "stage": lambda p: [Value(str(p.cell()["lifecycle_stage_zh"]), "any")],
    "intimacy_level": lambda p: [Value(str(p.cell()["intimacy_level"]), "any")],
    "value_level": lambda p: [Value(str(p.cell()["value_level"]), "any")],
    "lifecycle_stage": lambda p: [Value(str(p.cell()["lifecycle_stage"]), "any"), Value("sleeping", "bad")],
    "rule": lambda p: [Value(str(p.run.table("merchant_alerts")["rule"].iloc[0]), "any")],
    "format": lambda _p: [Value("xlsx", "any"), Value("csv", "any"), Value("pdf", "bad")],
}


# -- the routes --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """A GET route with its parameters."""

    path: str
    path_params: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def get_routes(workbench: Workbench) -> list[Route]:
    """Every GET route of the app the matrix covers (pages and API)."""
    found = []
    for context in iter_route_contexts(workbench.app.routes):
        route = context.original_route
        path = str(context.path)
        if (
            not isinstance(route, APIRoute)
            or "GET" not in (context.methods or ())
            or path.startswith(SKIPPED)
        ):
            continue
        dependants = list(_dependants(route.dependant))
        query = [f for d in dependants for f in d.query_params]
        found.append(
            Route(
                path=path,
                path_params=tuple(f.alias for d in dependants for f in d.path_params),
                required=tuple(f.alias for f in query if f.field_info.is_required()),
                optional=tuple(f.alias for f in query if not f.field_info.is_required()),
            )
        )
    return found


def _unknown_parameters(route: Route) -> list[str]:
    unknown = [p for p in route.path_params if p not in PATH_VALUES]
    unknown += [p for p in route.required if p not in QUERY_VALUES]
    unknown += [p for p in route.optional if p not in QUERY_VALUES and p not in DEFAULTED]
    return unknown


def calls(route: Route, probe: Probe) -> list[tuple[str, set[str], str]]:
    """(url, ids the caller supplied, kind of the varied value) for the route: every parameter in scope, then
    each parameter (optional filters too) set to each of its other values in turn."""
    path_values = {p: PATH_VALUES[p](probe, route.path) for p in route.path_params}
    query_values = {
        p: QUERY_VALUES[p](probe) for p in (*route.required, *route.optional) if p in QUERY_VALUES
    }
    base = {p: v[0] for p, v in path_values.items()} | {p: query_values[p][0] for p in route.required}
    variants: list[tuple[dict[str, Value], str]] = [(base, "in")]
    for name, values in (*path_values.items(), *query_values.items()):
        start = 1 if name in base else 0
        variants += [({**base, name: value}, value.kind) for value in values[start:]]
    out = []
    for chosen, kind in variants:
        url = route.path
        for name in route.path_params:
            url = url.replace(f"{{{name}}}", quote(chosen[name].text, safe=""))
        query = {n: v.text for n, v in chosen.items() if n not in route.path_params}
        if query:
            url += "?" + urlencode(query)
        given = {v.text for v in chosen.values()}
        out.append((url, given, kind))
    return out


# -- bodies ------------------------------------------------------------------------------------------------------------
def body_text(answer: Response) -> str:
    """The answer as text: Excel workbooks cell by cell, everything else decoded."""
    kind = answer.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(answer.content), read_only=True)
        cells = [
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        ]
        book.close()
        return "\n".join(cells)
    return answer.content.decode("utf-8", errors="replace")


def _probe(workbench: Workbench, username: str, known: dict[str, set[str]]) -> Probe:
    run = workbench.app.state.run
    outlets = workbench.users[username].outlets
    probe = Probe(username, workbench, outlets, known)
    if outlets is not None:
        customers = run.table("customers")
        accounts = run.table("accounts")
        members = run.table("circle_members")
        homes = run.table("merchant_home")
        probe.visible = {
            "outlet": set(outlets),
            "customer": set(customers.loc[customers["outlet_id"].isin(outlets), "customer_id"]),
            "account": set(accounts.loc[accounts["outlet_id"].isin(outlets), "account_id"]),
            "merchant": set(members.loc[members["outlet_id"].isin(outlets), "merchant_id"])
            | set(homes.loc[homes["home_outlet_id"].isin(outlets), "merchant_id"]),
        }
    return probe


@pytest.fixture(scope="module")
def known(workbench: Workbench) -> dict[str, set[str]]:
    """Every id of the run, by kind."""
    run = workbench.app.state.run
    merchants = set(run.table("merchant_home")["merchant_id"]) | set(
        run.table("circle_members")["merchant_id"]
    )
    return {
        "outlet": set(run.table("outlets")["outlet_id"]),
        "customer": set(run.table("customers")["customer_id"]),
        "account": set(run.table("accounts")["account_id"]),
        "merchant": merchants,
    }


# -- tests -------------------------------------------------------------------------------------------------------------
def test_the_matrix_covers_pages_and_api_and_knows_every_parameter(workbench: Workbench) -> None:
    routes = get_routes(workbench)
    paths = {r.path for r in routes}
    for expected in (
        "/",
        "/customers/{customer_id}",
        "/api/v1/customers/{customer_id}",
        "/api/v1/audience/count",
    ):
        assert expected in paths
    assert not any(p.startswith(SKIPPED) for p in paths)
    unknown = {r.path: _unknown_parameters(r) for r in routes if _unknown_parameters(r)}
    assert not unknown, (
        "routes with parameters the scope matrix does not know; add them to PATH_VALUES / QUERY_VALUES "
        f"(or DEFAULTED for harmless optional ones): {unknown}"
    )


def test_the_id_patterns_match_the_runs_ids(known: dict[str, set[str]]) -> None:
    for kind, pattern in ID_PATTERNS.items():
        ids = known[kind]
        assert len(ids) > 10, kind
        assert all(pattern.fullmatch(i) for i in ids), f"{kind} ids of the run do not match {pattern.pattern}"


@pytest.mark.parametrize("username", USERS)
def test_no_read_outside_the_scope(workbench: Workbench, known: dict[str, set[str]], username: str) -> None:
    probe = _probe(workbench, username, known)
    client: TestClient = workbench.client(username)
    routes = get_routes(workbench)
    unknown = {r.path: _unknown_parameters(r) for r in routes if _unknown_parameters(r)}
    assert not unknown, f"parameters the matrix does not know: {unknown}"
    violations: list[str] = []
    mentioned: Counter[str] = Counter()
    called = 0
    for route in routes:
        for url, given, kind in calls(route, probe):
            answer = client.get(url, follow_redirects=False)
            called += 1
            if answer.status_code not in EXPECTED[kind]:
                violations.append(
                    f"{route.path}: GET {url} answered {answer.status_code} for a value {kind} scope "
                    f"(expected {sorted(EXPECTED[kind])}): {answer.text[:200]!r}"
                )
            text = body_text(answer)
            for entity, pattern in ID_PATTERNS.items():
                for found in set(pattern.findall(text)) - given:
                    mentioned[entity] += found in known[entity]
                    if not probe.allows(entity, found):
                        state = "outside the scope" if found in known[entity] else "unknown to the run"
                        violations.append(f"{route.path}: GET {url} names {entity} {found} ({state})")
    assert called >= len(routes)
    assert not violations, f"{username}: {len(violations)} violations\n" + "\n".join(violations)
    # the patterns really find the run's ids in what the workbench shows, so a clean answer means something
    if username == "admin":
        assert mentioned["customer"] >= 100, mentioned
        assert mentioned["outlet"] >= 20, mentioned
        assert mentioned["merchant"] >= 10, mentioned
        assert mentioned["account"] >= 1, mentioned
    assert mentioned["outlet"] >= 1 and mentioned["merchant"] >= 1, mentioned
    if workbench.users[username].role != "viewer":
        assert mentioned["customer"] >= 10, mentioned
