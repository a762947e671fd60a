"""The workbench in a real browser: Playwright drives Debian's headless Chromium (network blocked except loopback)
against the app served by uvicorn. An administrator logs in through the form and opens every page of the nav:
each answers 200 with its heading, draws its charts, logs no console error, loads nothing from elsewhere and
renders a non-blank screenshot. An outlet manager cannot open another outlet's circle and sees only their own."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright
from tests.app.conftest import PASSWORD, Workbench
from tests.browser import CHROMIUM, requires_chromium

pytestmark = requires_chromium

#: Every page of the nav, as the administrator opens it ({outlet_a} filled in from the fixture).
PAGES = [
    "/",
    "/circles",
    "/circles/{outlet_a}",
    "/customers/ivl",
    "/lists",
    "/audience?expression=女性客群",
    "/risk",
    "/models",
    "/admin/audit",
]
#: Headings of the error page (templates/error.html): a page showing one of these did not render.
ERROR_HEADINGS = {"请先登录", "无权访问", "未找到", "输入有误", "请稍后再试", "出错了"}
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The network is blocked as in tests/browser.py (a closed proxy port for every request, no name resolves)
    # except loopback, where the app is served: Chromium sends loopback past the proxy, and the resolver rule
    # must exclude 127.0.0.1 (tests/browser.py's plain "MAP * ~NOTFOUND" fails navigations to it).
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ALL_DRAWN = """() => Array.from(document.querySelectorAll('script.figure[data-target]')).every(block => {
    const target = document.getElementById(block.dataset.target);
    return target !== null && target.dataset.drawn === 'true';
})"""


@pytest.fixture(scope="module")
def live(workbench: Workbench) -> Iterator[str]:
    """The workbench (SQLite app database) served by uvicorn on a free loopback port; yields its base URL."""
    if not workbench.app.state.settings.database_url.startswith("sqlite"):
        pytest.skip("browser tests run once, against the SQLite workbench")
    config = uvicorn.Config(
        workbench.app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(live: str) -> Iterator[Any]:
    """Headless Chromium (Debian's, no Playwright download)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page with its console errors, uncaught exceptions and failed requests recorded."""

    page: Any
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _watch(page: Any) -> Watched:
    watched = Watched(page)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: watched.failed.append(f"{r.url}: {r.failure}"))
    return watched


def _log_in(browser: Any, base: str, username: str) -> Watched:
    """A fresh browser context logged in as ``username`` through the login form."""
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(20_000)
    watched = _watch(context.new_page())
    page = watched.page
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("[data-testid=who]").is_visible()
    return watched


@pytest.fixture(scope="module")
def admin(browser: Any, live: str) -> Iterator[Watched]:
    watched = _log_in(browser, live, "admin")
    yield watched
    watched.page.context.close()


def _distinct_colours(png: Path) -> int:
    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(colours or [])


def _open(watched: Watched, path: str, shot: Path) -> Any:
    """Open ``path``; check status, heading, charts, console and requests; save a full-page screenshot."""
    page = watched.page
    watched.errors.clear()
    watched.failed.clear()
    response = page.goto(path, wait_until="load")
    assert response is not None
    body = page.locator("body").inner_text()[:300]
    assert response.status == 200, f"{path}: HTTP {response.status} {body}"
    heading = page.locator("main h1").first
    assert heading.is_visible(), f"{path}: no heading"
    text = heading.inner_text().strip()
    assert text and text not in ERROR_HEADINGS, f"{path}: heading {text!r}"
    figures = page.locator("script.figure[data-target]").count()
    if figures:
        page.wait_for_function(ALL_DRAWN, timeout=20_000)
    assert page.locator('[data-drawn="true"]').count() == figures, path
    assert page.locator('[data-drawn="true"] svg.main-svg').count() >= figures, f"{path}: charts without SVG"
    page.screenshot(path=str(shot), full_page=True)
    assert _distinct_colours(shot) > 16, f"{path}: the screenshot is (nearly) blank"
    assert watched.errors == [], f"{path}: console errors {watched.errors}"
    assert watched.failed == [], f"{path}: failed requests {watched.failed}"
    return page


def _shot_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", urlsplit(path).path).strip("_") or "overview"


def test_nav_links_are_the_pages_this_test_opens(admin: Watched) -> None:
    page = admin.page
    page.goto("/")
    nav = {
        urlsplit(a).path
        for a in page.locator("header.top nav a").evaluate_all("l => l.map(a => a.getAttribute('href'))")
    }
    assert nav == {urlsplit(p).path for p in PAGES if "{" not in p}


@pytest.mark.parametrize("path", PAGES)
def test_admin_page_renders_with_charts_and_no_console_errors(
    admin: Watched, workbench: Workbench, path: str, tmp_path: Path
) -> None:
    url = path.format(outlet_a=workbench.outlet_a)
    page = _open(admin, url, tmp_path / f"{_shot_name(url)}.png")
    assert "管理员" in page.locator("[data-testid=who]").inner_text()
    active = page.locator("header.top nav a.active")
    assert active.count() == 1, f"{url}: the nav marks {active.count()} pages as current"
    if url.startswith("/circles/"):
        assert workbench.outlet_a in page.content()
    if url.startswith("/audience"):
        assert page.locator("input[name=expression]").input_value() == "女性客群"


def test_manager_sees_only_their_outlet_and_gets_404_for_another(
    browser: Any, live: str, workbench: Workbench, tmp_path: Path
) -> None:
    watched = _log_in(browser, live, "manager_a")
    try:
        page = watched.page
        outlets = workbench.app.state.run.outlets.set_index("outlet_id")["outlet_name"]
        other = page.goto(f"/circles/{workbench.outlet_b}")
        assert other is not None and other.status == 404
        assert page.locator("main h1").inner_text().strip() == "未找到"
        assert str(outlets[workbench.outlet_b]) not in page.content()
        page.screenshot(path=str(tmp_path / "manager_other_outlet.png"), full_page=True)

        page = _open(watched, "/circles", tmp_path / "manager_circles.png")
        linked = {
            unquote(m.group(1))
            for href in page.locator("main a[href^='/circles/']").evaluate_all(
                "l => l.map(a => a.getAttribute('href'))"
            )
            if (m := re.match(r"/circles/([^/?#]+)", href))
        }
        assert linked == {workbench.outlet_a}
        rows = set(page.locator("[data-outlet-id]").evaluate_all("l => l.map(e => e.dataset.outletId)"))
        assert rows == {workbench.outlet_a}
        html = page.content()
        assert workbench.outlet_b not in html and str(outlets[workbench.outlet_b]) not in html
        # no administration for an outlet manager
        assert page.locator("header.top nav a[href='/admin/audit']").count() == 0
        denied = page.goto("/admin/audit")
        assert denied is not None and denied.status == 403
    finally:
        watched.page.context.close()
