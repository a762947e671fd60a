"""Benchmark: the workbench under 50 concurrent users on loopback (target: p95 <= 300 ms, zero errors; issue 9).

``youshu serve`` runs in a subprocess on a temporary SQLite app database with 50 users (outlet managers of
different outlets, analysts of the province or a county, viewers of one outlet). Each user logs in, then for
``--seconds`` requests back to back (or with ``--think-ms`` pauses) a mix of the pages and JSON API endpoints of
its own scope (overview, circles, one of its circles, IVL, lists, a list, a customer, risk, an audience, and
every GET of /api/v1 whose parameters it can fill). Routes a role may not use (403), or whose output the run
lacks, are dropped for that user during warm-up; every other answer than 200 is an error. Baseline measured in
the same run: the same 50 users requesting /static/app.css, the server's floor (no session, no data), and the
ratio of the two p95s.

The load generator (this process, asyncio + httpx) and the server share the machine's cores; CPU time of both is
printed so the share of each is visible.

    .venv/bin/python -m benchmarks.bench_app_load                          # demo run, 60 s, 1 then 2 workers
    .venv/bin/python -m benchmarks.bench_app_load --think-ms 2000 --workers 1
    .venv/bin/python -m benchmarks.bench_app_load --run runs/2025-09-30/main --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import psutil

from youshu.app.db import make_engine, migrate, session_factory
from youshu.app.rundata import RunData
from youshu.app.security import create_user
from youshu.app.settings import app_settings

DEMO_RUN = Path("demo/runs/2025-09-30/main")
TARGET_P95_MS = 300.0
PASSWORD = "bench-password-1"
EXPRESSION = "女性客群"
#: How the app answers (404) for an output the run does not have (``RunDataError``).
NO_OUTPUT = "this run has no such output"
#: Page routes: label -> URL template ({outlet}, {customer}, {list} filled per user).
PAGES = {
    "/": "/",
    "/circles": "/circles",
    "/circles/{outlet_id}": "/circles/{outlet}",
    "/customers/ivl": "/customers/ivl",
    "/customers/{customer_id}": "/customers/{customer}",
    "/lists": "/lists",
    "/lists/{name}": "/lists/{list}?outlet_id={outlet}",
    "/audience?expression": "/audience?expression={expression}",
    "/risk": "/risk",
}


@dataclass
class BenchUser:
    username: str
    role: str
    scope_kind: str
    scope_values: list[str]
    outlets: list[str]  # outlets in scope, for filling URLs
    customers: list[str] = field(default_factory=list)  # some customers of those outlets
    routes: dict[str, str] = field(default_factory=dict)  # label -> URL, kept after warm-up
    client: httpx.AsyncClient | None = None


@dataclass
class Sample:
    label: str
    ms: float
    ok: bool
    detail: str = ""


# -- the run and the users -------------------------------------------------------------------------------------------
def _small_run(root: Path, customers: int) -> Path:
    """A province of ``customers`` run through the whole pipeline (as tests/app/conftest.py does)."""
    from youshu.config import get_settings
    from youshu.engine import connect
    from youshu.pipeline.run import run_pipeline
    from youshu.synth import generate

    print(f"generating a {customers:,}-customer province under {root} ...", flush=True)
    generate(root / "warehouse", customers=customers, seed=11, workers=1)
    here = Path.cwd()
    os.chdir(root)
    get_settings.cache_clear()
    try:
        with connect("duckdb") as engine:
            result = run_pipeline(
                date(2025, 9, 30), engine=engine, warehouse=root / "warehouse", runs_dir=root / "runs"
            )
    finally:
        os.chdir(here)
        get_settings.cache_clear()
    return Path(result.folder)


def _make_users(run: RunData, n: int, rng: random.Random) -> list[BenchUser]:
    """60% outlet managers (distinct outlets, busiest first), 20% analysts (half province, half a county),
    20% viewers (one outlet each)."""
    customers = run.table("customers")
    busiest = customers["outlet_id"].value_counts().index.astype(str).tolist()
    outlets = run.outlets.set_index("outlet_id")
    counties = outlets["county_id"].astype(str)
    managers, analysts = round(n * 0.6), round(n * 0.2)
    users: list[BenchUser] = []
    for i in range(n):
        outlet = busiest[i % len(busiest)]
        if i < managers:
            users.append(BenchUser(f"mgr{i:02d}", "outlet_manager", "outlets", [outlet], [outlet]))
        elif i < managers + analysts:
            if i % 2:
                users.append(BenchUser(f"ana{i:02d}", "analyst", "all", [], busiest))
            else:
                county = counties[outlet]
                scope = sorted(outlets.index[counties == county].astype(str))
                users.append(BenchUser(f"ana{i:02d}", "analyst", "counties", [county], scope))
        else:
            outlet = busiest[rng.randrange(len(busiest))]
            users.append(BenchUser(f"vw{i:02d}", "viewer", "outlets", [outlet], [outlet]))
    return users


def _create_users(url: str, users: list[BenchUser]) -> float:
    engine = make_engine(url)
    migrate(engine)
    t0 = time.perf_counter()
    with session_factory(engine)() as db:
        for u in users:
            create_user(
                db, u.username, PASSWORD, u.role, scope_kind=u.scope_kind, scope_values=u.scope_values
            )
    engine.dispose()
    return time.perf_counter() - t0


# -- the server ------------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(run_folder: Path, url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """``youshu serve`` in a subprocess (the command itself, not a copy of it); its output goes to ``log``."""
    cmd = [
        sys.executable,
        "-c",
        "from youshu.cli.main import main; main()",
        "serve",
        "--run",
        str(run_folder),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--database-url",
        url,
    ]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            err = log.read_text(encoding="utf-8", errors="replace")
            raise SystemExit(f"youshu serve exited with {proc.returncode}:\n{err[-3000:]}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        time.sleep(0.3)
    raise SystemExit(f"youshu serve did not answer within {timeout:.0f} s")


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


# -- the load --------------------------------------------------------------------------------------------------------
async def _login(user: BenchUser, base: str) -> None:
    # One connection per user, as a browser tab mostly uses; dropped after 2 s idle, before uvicorn closes it at
    # 5 s (reusing a connection the server is closing fails with "Server disconnected" and httpx does not retry).
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=2.0)
    user.client = httpx.AsyncClient(base_url=base, timeout=30, limits=limits, follow_redirects=False)
    form = await user.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise SystemExit("the login form has no CSRF token")
    answer = await user.client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
    )
    if answer.status_code != 303:
        raise SystemExit(f"login of {user.username} failed: {answer.status_code}")


def _api_routes(spec: dict[str, object]) -> dict[str, str]:
    """GET endpoints of /api/v1 from the OpenAPI document, as label -> template with our placeholders;
    endpoints with a required parameter we cannot fill are left out."""
    fillers = {
        "outlet_id": "{outlet}",
        "customer_id": "{customer}",
        "name": "{list}",
        "expression": "{expression}",
    }
    routes: dict[str, str] = {}
    paths = spec.get("paths", {})
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        get = operations.get("get") if isinstance(operations, dict) else None
        if not path.startswith("/api/v1/") or get is None:
            continue
        url, query, ok = path, [], True
        for param in get.get("parameters", []):
            filler = fillers.get(param["name"])
            if param["in"] == "path":
                if filler is None:
                    ok = False
                    break
                url = url.replace("{" + param["name"] + "}", filler)
            elif param["in"] == "query" and (param.get("required") or param["name"] == "expression"):
                if filler is None:
                    ok = False
                    break
                query.append(f"{param['name']}={filler}")
        if ok:
            label = path + ("?" + "&".join(q.split("=")[0] for q in query) if query else "")
            routes[label] = url + ("?" + "&".join(query) if query else "")
    return routes


def _fill(template: str, user: BenchUser, rng: random.Random, lists: list[str]) -> str | None:
    values = {
        "outlet": quote(rng.choice(user.outlets), safe=""),
        "customer": quote(rng.choice(user.customers), safe="") if user.customers else "",
        "list": lists[0] if lists else "",
        "expression": quote(EXPRESSION, safe=""),
    }
    if ("{customer}" in template and not values["customer"]) or ("{list}" in template and not lists):
        return None
    return template.format(**values)


async def _warm(
    users: list[BenchUser], templates: dict[str, str], lists: list[str]
) -> tuple[dict[str, set[str]], list[str]]:
    """Each user requests each route once: 200 keeps it, 403 drops it (the role may not), so does 404 for an
    output the run does not have; anything else is an error. Returns the kept labels per role and the errors."""
    kept: dict[str, set[str]] = defaultdict(set)
    errors: list[str] = []

    async def one(user: BenchUser) -> None:
        rng = random.Random(user.username)
        assert user.client is not None
        for label, template in templates.items():
            url = _fill(template, user, rng, lists)
            if url is None:
                continue
            try:
                answer = await user.client.get(url)
            except httpx.HTTPError as exc:
                errors.append(f"{user.username} {url}: {type(exc).__name__} {exc}")
                continue
            if answer.status_code == 200:
                user.routes[label] = template
                kept[user.role].add(label)
            elif answer.status_code == 404 and NO_OUTPUT in answer.text:
                continue  # this run lacks the output (e.g. no risk alerts in a small province)
            elif answer.status_code != 403:
                errors.append(f"{user.username} {url}: {answer.status_code} {answer.text[:120]!r}")

    await asyncio.gather(*(one(u) for u in users))
    return kept, errors


async def _load(
    users: list[BenchUser],
    seconds: float,
    lists: list[str],
    static: bool = False,
    think_ms: float = 0.0,
) -> list[Sample]:
    """Every user requests its routes (or /static/app.css) for ``seconds``: back to back, or pausing
    ``think_ms`` on average (uniform 0.5-1.5x) between requests like a person reading the page."""
    samples: list[Sample] = []
    deadline = time.perf_counter() + seconds

    async def one(user: BenchUser, seed: int) -> None:
        rng = random.Random(seed)
        assert user.client is not None
        labels = sorted(user.routes)
        if think_ms:  # people do not all click at the same instant
            await asyncio.sleep(think_ms * rng.uniform(0, 1) / 1000)
        while time.perf_counter() < deadline:
            if static:
                label, url = "/static/app.css", "/static/app.css"
            else:
                label = rng.choice(labels)
                url = _fill(user.routes[label], user, rng, lists) or "/"
            t0 = time.perf_counter()
            try:
                answer = await user.client.get(url)
                ok, detail = answer.status_code == 200, f"{answer.status_code} {url}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__} {url}"
            samples.append(Sample(label, (time.perf_counter() - t0) * 1000, ok, "" if ok else detail))
            if think_ms:
                await asyncio.sleep(think_ms * rng.uniform(0.5, 1.5) / 1000)

    await asyncio.gather(*(one(u, i) for i, u in enumerate(users)))
    return samples


async def _alone(users: list[BenchUser], lists: list[str], repeat: int = 3) -> dict[str, float]:
    """Median latency of each route with no other request in flight (one user of each role in turn):
    the route's own cost, against which the loaded figures show the queueing."""
    times: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for user in users:
        if user.role in seen:
            continue
        seen.add(user.role)
        rng = random.Random(0)
        assert user.client is not None
        for label, template in sorted(user.routes.items()):
            for _ in range(repeat):
                url = _fill(template, user, rng, lists) or "/"
                t0 = time.perf_counter()
                await user.client.get(url)
                times[label].append((time.perf_counter() - t0) * 1000)
    return {label: float(np.median(v)) for label, v in times.items()}


def _percentiles(ms: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.asarray(ms), [50, 95, 99])
    return float(p50), float(p95), float(p99)


@dataclass
class Result:
    workers: int
    requests: int
    errors: int
    p95: float
    base_p95: float


async def _run_one(
    args: argparse.Namespace,
    run_folder: Path,
    users: list[BenchUser],
    url: str,
    workers: int,
) -> Result:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(url.removeprefix("sqlite:///")).with_name(f"serve_{workers}.log")
    proc = _start_server(run_folder, url, port, workers, log)
    try:
        ready = _wait_ready(proc, base, log)
        server = psutil.Process(proc.pid)
        print(f"\nworkers={workers}: `youshu serve` answered after {ready:.1f} s (loads the run)", flush=True)
        for u in users:
            u.routes = {}
        await asyncio.gather(*(_login(u, base) for u in users))
        assert users[0].client is not None
        spec = (await users[0].client.get("/api/openapi.json")).json()
        templates = {**PAGES, **_api_routes(spec)}
        lists_page = await next(u for u in users if u.role == "analyst").client.get("/lists")  # type: ignore[union-attr]
        lists = sorted(set(re.findall(r'href="/lists/([A-Za-z0-9_-]+)[?"]', lists_page.text)))
        kept, warm_errors = await _warm(users, templates, lists)
        for role in sorted(kept):
            print(f"  routes used by {role:<15} {len(kept[role]):>2}: {', '.join(sorted(kept[role]))}")
        dropped = sorted(set(templates) - set().union(*kept.values()))
        if dropped:
            print(f"  routes no user could use   : {', '.join(dropped)}")

        alone = await _alone(users, lists)
        cpu_server, cpu_client, t0 = _cpu_seconds(server), time.process_time(), time.perf_counter()
        samples = await _load(users, args.seconds, lists, think_ms=args.think_ms)
        wall = time.perf_counter() - t0
        cpu_server, cpu_client = _cpu_seconds(server) - cpu_server, time.process_time() - cpu_client
        base_samples = await _load(users, args.baseline_seconds, lists, static=True, think_ms=args.think_ms)
    finally:
        for u in users:
            if u.client is not None:
                await u.client.aclose()
                u.client = None
        _stop_server(proc)

    errors = [s for s in samples if not s.ok] + [Sample("warm-up", 0, False, e) for e in warm_errors]
    ms = [s.ms for s in samples]
    p50, p95, p99 = _percentiles(ms)
    b50, b95, b99 = _percentiles([s.ms for s in base_samples])
    base_errors = sum(not s.ok for s in base_samples)
    print(
        f"  requests   {len(samples):>8,}  ({len(samples) / wall:,.1f}/s over {wall:.1f} s)   errors {len(errors)}"
    )
    print(f"  latency    p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   p99 {p99:7.1f} ms   max {max(ms):7.1f} ms")
    by_route: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_route[s.label].append(s.ms)
    print(f"    {'route':<40} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'alone ms':>9}")
    for label, values in sorted(by_route.items(), key=lambda kv: -float(np.percentile(kv[1], 95))):
        r50, r95 = np.percentile(values, [50, 95])
        print(
            f"    {label:<40} {len(values):>8,} {r50:8.1f} {r95:8.1f} {alone.get(label, float('nan')):9.1f}"
        )
    print(
        f"  baseline   /static/app.css, same {len(users)} users for {args.baseline_seconds:.0f} s: "
        f"{len(base_samples):,} requests, p50 {b50:.1f} ms, p95 {b95:.1f} ms, p99 {b99:.1f} ms, errors {base_errors}"
    )
    print(f"  ratio      app p95 / static p95 = {p95 / b95:.1f} x")
    cores = os.cpu_count() or 1
    print(
        f"  cpu        server {cpu_server:.0f} s ({cpu_server / wall:.0%} of one core), load generator "
        f"{cpu_client:.0f} s ({cpu_client / wall:.0%} of one core); {cores} cores shared by both"
    )
    for e in errors[:10]:
        print(f"  error      {e.detail}")
    if errors or base_errors:
        print("  server log (last lines):")
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]:
            print(f"    {line}")
    verdict = p95 <= args.target_ms and not errors
    print(f"  target     p95 <= {args.target_ms:.0f} ms and zero errors: {'PASS' if verdict else 'FAIL'}")
    return Result(workers, len(samples), len(errors), p95, b95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help=f"run folder (default {DEMO_RUN} if present)")
    parser.add_argument(
        "--customers", type=int, default=4_000, help="size of the generated run without --run"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure in turn")
    parser.add_argument("--target-ms", type=float, default=TARGET_P95_MS)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause between a user's requests (default: back to back)",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="youshu_bench_app_"))
    try:
        run_folder = args.run or (DEMO_RUN if (DEMO_RUN / "run.json").exists() else None)
        if run_folder is None:
            run_folder = _small_run(scratch / "province", args.customers)
        run_folder = run_folder.resolve()
        url = f"sqlite:///{scratch / 'app.db'}"
        settings = app_settings(run_folder, database_url=url)
        run = RunData(settings.run_folder, settings.warehouse)
        rng = random.Random(7)
        users = _make_users(run, args.users, rng)
        hashing = _create_users(url, users)
        homes = run.table("customers")[["customer_id", "outlet_id"]].astype(str)
        by_outlet = {o: ids.head(50).tolist() for o, ids in homes.groupby("outlet_id")["customer_id"]}
        for u in users:
            u.customers = [c for o in u.outlets for c in by_outlet.get(o, [])][:500]
        roles: dict[str, int] = defaultdict(int)
        for u in users:
            roles[u.role] += 1
        pace = f"pausing {args.think_ms:.0f} ms on average between" if args.think_ms else "back to back"
        print(
            f"app load: {args.users} users ({', '.join(f'{n} {r}' for r, n in sorted(roles.items()))}), "
            f"{pace} requests for {args.seconds:.0f} s; run {run_folder}"
        )
        print(
            f"  {len(run.outlets):,} outlets, {len(homes):,} customers; users created in {hashing:.1f} s (argon2)"
        )
        print(f"  machine: {os.cpu_count()} cores shared by the server (subprocess) and this load generator")
        results = [
            asyncio.run(_run_one(args, run_folder, users, url, int(w))) for w in args.workers.split(",")
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\nsummary")
    for r in results:
        ok = r.p95 <= args.target_ms and r.errors == 0
        print(
            f"  workers={r.workers}: {r.requests:,} requests, {r.errors} errors, p95 {r.p95:.0f} ms "
            f"(static floor {r.base_p95:.1f} ms, {r.p95 / r.base_p95:.0f} x): {'PASS' if ok else 'FAIL'}"
        )
    if not all(r.p95 <= args.target_ms and r.errors == 0 for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
