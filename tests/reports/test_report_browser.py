"""The run's HTML report in headless Chromium with the network blocked: every section and chart drawn, no console
messages, a screenshot that is not blank; and ``youshu report``, which says where that report is."""

from __future__ import annotations

import re
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from tests.browser import PageRun, console_messages, load_page, requires_chromium
from tests.clirun import run_cli

from pipeline import write_tiny_warehouse
from youshu.config import get_settings
from youshu.engine import connect
from youshu.pipeline.run import STEPS, RunResult, run_pipeline

AS_OF = date(2025, 9, 30)
# Big enough that every step has content: >= 20 reported account-days for the risk model, enough buyers and
# history for the propensity model, merchants in circles (checked: no step leaves a "not enough data" note).
CUSTOMERS, SEED = 4_000, 11
WINDOW = (1280, 2400)

#: Sections the issue asks the report to show, by the id the pipeline gives them.
REQUIRED = {
    "overview": "province summary",
    "kpis": "KPIs",
    "tag-overview": "tag coverage",
    "ivl": "IVL cube",
    "wealth-propensity": "model card with lift and calibration charts",
    "circles": "circles map",
    "risk": "risk alerts and trends",
    "lists": "target lists",
}

pytestmark = pytest.mark.slow


@dataclass
class SectionView:
    """What one ``section[data-section]`` holds: its title, figure containers and table row counts."""

    title: str = ""
    figures: dict[str, int] = field(default_factory=dict)  # figure div id -> drawn traces (svg groups)
    svgs: dict[str, int] = field(default_factory=dict)  # figure div id -> svg.main-svg elements
    table_rows: list[int] = field(default_factory=list)
    kpis: int = 0


class ReportDom(HTMLParser):
    """Reads a report (source or DOM after scripts ran) into :class:`SectionView` per section id."""

    VOID = frozenset(
        ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
    )

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, SectionView] = {}
        self._stack: list[tuple[str, str]] = []  # (tag, role) where role marks section/h2/figure/table
        self._section: str | None = None
        self._figure: str | None = None
        self.feed(html)
        self.close()

    def _roles(self) -> set[str]:
        return {role for _, role in self._stack}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        role = ""
        if tag == "section" and "data-section" in a:
            self._section, role = a["data-section"], "section"
            self.sections[self._section] = SectionView()
        elif self._section is not None:
            view = self.sections[self._section]
            if tag == "h2" and "section" in self._roles():
                role = "h2"
            elif tag == "div" and "plot" in classes and a.get("id", "").startswith("fig-"):
                self._figure, role = a["id"], "figure"
                view.figures[self._figure], view.svgs[self._figure] = 0, 0
            elif tag == "tr" and "tbody" in {t for t, _ in self._stack}:
                view.table_rows[-1] += 1
            elif tag == "table":
                view.table_rows.append(0)
            elif tag == "div" and "kpi" in classes:
                view.kpis += 1
            elif self._figure is not None:
                if tag == "svg" and "main-svg" in classes:
                    view.svgs[self._figure] += 1
                # plotly draws each trace as a g.trace (bars, scatter, pie) or g.hm (heatmap)
                elif tag == "g" and (
                    any(c.startswith("trace") and c != "traces" for c in classes) or "hm" in classes
                ):
                    view.figures[self._figure] += 1
        if tag not in self.VOID:
            self._stack.append((tag, role))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            t, role = self._stack.pop()
            if role == "section":
                self._section = None
            elif role == "figure":
                self._figure = None
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._section is not None and "h2" in self._roles():
            self.sections[self._section].title += data.strip() + " "


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    from youshu.synth import generate

    root = tmp_path_factory.mktemp("province")
    generate(root / "warehouse", customers=CUSTOMERS, seed=SEED, workers=1)
    # The project is the temporary folder: the registry step's store goes there, not into the checkout.
    with pytest.MonkeyPatch.context() as mp, connect("duckdb") as engine:
        mp.chdir(root)
        get_settings.cache_clear()
        try:
            return run_pipeline(AS_OF, engine=engine, warehouse=root / "warehouse", runs_dir=root / "runs")
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def loaded(run: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PageRun, Path]]:
    """One headless load of the report: its DOM after scripts ran, console messages and a screenshot."""
    folder = tmp_path_factory.mktemp("chromium")
    png = folder / "report.png"
    yield load_page(run.report_path, folder / "profile", screenshot=png, window=WINDOW, budget_ms=30_000), png


def test_every_step_ran_and_the_report_references_nothing_outside_itself(run: RunResult) -> None:
    assert list(run.timings) == ["validate", *(s.name for s in STEPS), "report"]
    page = run.report_path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "url(http" not in page and "@import" not in page


@requires_chromium
def test_every_section_renders_with_its_title_charts_and_table_rows(
    run: RunResult, loaded: tuple[PageRun, Path]
) -> None:
    source = ReportDom(run.report_path.read_text(encoding="utf-8")).sections
    drawn = ReportDom(loaded[0].dom).sections
    missing = {sid: what for sid, what in REQUIRED.items() if sid not in source}
    assert not missing, f"the report lacks sections {missing}"
    assert list(drawn) == list(source)
    for sid, view in drawn.items():
        assert view.title.strip() == source[sid].title.strip() != "", sid
        assert view.figures or view.table_rows or view.kpis, f"section {sid} renders empty"
        assert list(view.figures) == list(source[sid].figures), f"section {sid}: figure containers differ"
        undrawn = [f for f, traces in view.figures.items() if traces == 0 or view.svgs[f] == 0]
        assert not undrawn, f"section {sid}: figures not drawn: {undrawn}"
        assert all(rows > 0 for rows in view.table_rows), (
            f"section {sid}: a table without rows {view.table_rows}"
        )
    figures = sum(len(v.figures) for v in source.values())
    assert figures == sum(len(v.figures) for v in drawn.values()) >= len(REQUIRED)


@requires_chromium
def test_the_report_writes_nothing_to_the_browser_console(loaded: tuple[PageRun, Path]) -> None:
    page, _ = loaded
    assert page.console == [], "\n".join(map(str, page.console))
    assert page.dom.rstrip().endswith("</html>")  # the whole page loaded


@requires_chromium
def test_the_screenshot_shows_the_header_and_charts(loaded: tuple[PageRun, Path]) -> None:
    from PIL import Image

    _, png = loaded
    with Image.open(png) as image:
        assert image.size == WINDOW
        rgb = np.asarray(image.convert("RGB"))
    top = rgb[: WINDOW[1] // 2].reshape(-1, 3)
    colours = np.unique(top, axis=0)
    assert len(colours) > 50, f"only {len(colours)} colours in the top half: a blank page?"
    header_green = (np.abs(rgb[:60].astype(int) - [0x00, 0x79, 0x4A]).max(axis=2) <= 8).mean()
    assert header_green > 0.5  # the green title bar
    white = (top == 255).all(axis=1).mean()
    assert white < 0.95


@requires_chromium
def test_a_script_error_or_an_undrawn_chart_is_detected(run: RunResult, tmp_path: Path) -> None:
    # The checks above can fail: the same report with a failing script and one chart that never draws.
    html = run.report_path.read_text(encoding="utf-8")
    first = re.search(r'Plotly\.newPlot\("(fig-[^"]+)"', html)
    assert first is not None
    broken = html.replace(f'Plotly.newPlot("{first[1]}"', f'(()=>{{}})("{first[1]}"', 1)
    broken = broken.replace("</body>", '<script>throw new Error("injected-x")</script></body>', 1)
    copy = tmp_path / "broken.html"
    copy.write_text(broken, encoding="utf-8")
    page = load_page(copy, tmp_path / "profile", window=(800, 600), budget_ms=30_000)
    assert [m.text for m in page.console if m.is_uncaught] == ["Uncaught Error: injected-x"]
    drawn = ReportDom(page.dom).sections
    undrawn = [f for v in drawn.values() for f, traces in v.figures.items() if traces == 0]
    assert undrawn == [first[1]]


def test_console_lines_are_read_from_chromium_logging() -> None:
    stderr = "\n".join(
        [
            "[1:2:1129/110105.515409:ERROR:dbus/bus.cc:405] Failed to connect to the bus",
            '[1:1:1129/110106.028117:INFO:CONSOLE:1] "my-console-error", source: file:///tmp/p.html (1)',
            '[1:1:1129/110106.028128:INFO:CONSOLE(7)] "Uncaught Error: boom", source: file:///tmp/p.html (7)',
        ]
    )
    found = console_messages(stderr)
    assert [(m.text, m.line, m.is_uncaught) for m in found] == [
        ("my-console-error", 1, False),
        ("Uncaught Error: boom", 7, True),
    ]


def test_short_text_cells_do_not_wrap_and_legends_sit_below_the_axis_title() -> None:
    # Found in the browser: outlet names broke one character per line in wide tables, and a horizontal legend
    # covered the x-axis title of the risk trend chart.
    import pandas as pd
    import plotly.graph_objects as go

    from youshu.reports import Column, FigureBlock, Section, TableBlock, render_report

    long_text = "近30天快进快出金额=65,622元 (+3.39)；近30天夜间交易占比=17% (+2.48)"
    frame = pd.DataFrame({"outlet": ["溪云区支行3号网点"], "why": [long_text], "n": [3]})
    table = TableBlock(frame, [Column("outlet", "网点"), Column("why", "原因"), Column("n", "数", fmt="int")])
    figure = FigureBlock(
        go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name="全省")).update_layout(xaxis_title="日期")
    )
    html = render_report([Section("s", "节", "section", [table, figure])], title="t", as_of=AS_OF)
    assert '<td class="short">溪云区支行3号网点</td>' in html
    assert f"<td>{long_text}</td>" in html and '<td class="num">3</td>' in html
    assert '"legend":{"orientation":"h","y":0,"yanchor":"bottom","yref":"container"}' in html


# ------------------------------------------------------------------------------------------ youshu report


def test_report_prints_the_latest_runs_path_and_url(
    run: RunResult, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = run.folder.parents[1]
    older = runs / "2025-06-30" / "main"
    older.mkdir(parents=True)
    (older / "report.html").write_text("<html></html>", encoding="utf-8")
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    code, out = run_cli(["report", "--runs-dir", str(runs)], capsys)
    assert code == 0, out
    assert str(run.report_path) in out and run.report_path.as_uri() in out
    assert opened == []
    code, out = run_cli(["report", "--runs-dir", str(runs), "--as-of", "2025-06-30", "--open"], capsys)
    assert code == 0, out
    assert opened == [(older / "report.html").as_uri()]


def test_report_without_a_run_says_how_to_make_one(
    project: Path, run: RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(["report"], capsys)
    assert code == 2
    assert "youshu demo" in out and "youshu run --as-of" in out
    code, out = run_cli(["report", "--runs-dir", str(run.folder.parents[1]), "--as-of", "2024-01-31"], capsys)
    assert code == 2
    assert "2024-01-31" in out and "2025-09-30" in out  # names the missing date and the ones there are


def test_report_rerun_runs_the_pipeline_then_shows_the_new_report(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = write_tiny_warehouse(project / "wh")
    args = ["report", "--rerun", "--as-of", "2025-09-30", "--name", "again", "--warehouse", str(warehouse)]
    code, out = run_cli([*args, "--runs-dir", "out"], capsys)
    assert code == 0, out
    report = (project / "out" / "2025-09-30" / "again" / "report.html").absolute()
    assert report.is_file() and report.as_uri() in out
    assert "耗时 elapsed" in out
