"""One self-contained HTML report: plotly.js embedded once, zh-CN headings with English subtitles, no network.

A report is a list of :class:`Section`; each holds blocks (KPI cards, tables, figures, notes). Pipeline
steps build sections from aggregates only, so a report never carries personal data.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup

from youshu import __version__

__all__ = [
    "FONT_STACK",
    "Column",
    "FigureBlock",
    "Kpi",
    "KpiGrid",
    "Link",
    "Note",
    "QualityBadge",
    "Section",
    "TableBlock",
    "fmt_int",
    "fmt_pct",
    "fmt_wan",
    "render_report",
    "stylesheet",
]

#: Fonts that render Chinese on Linux, Windows and macOS, in that order; no web fonts are fetched.
FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif'
)
PALETTE = ("#00794a", "#2f6fb3", "#e0a526", "#c0504d", "#7a5ea8", "#3aa6a0", "#8c8c8c", "#d97b29")

Format = Literal["text", "int", "wan", "pct", "date", "float"]
EMPTY = "—"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_int(value: Any) -> str:
    """A count with thousands separators: ``12345 -> "12,345"``; missing -> ``"—"``."""
    return EMPTY if _missing(value) else f"{int(value):,}"


def fmt_wan(fen: Any, digits: int = 2) -> str:
    """Money in fen shown in 万元 (10,000 yuan = 1,000,000 fen): ``123456789 -> "123.46"``."""
    return EMPTY if _missing(fen) else f"{float(fen) / 1e6:,.{digits}f}"


def fmt_pct(share: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.1234 -> "12.3%"``; missing (e.g. a zero denominator) -> ``"—"``."""
    return EMPTY if _missing(share) else f"{float(share) * 100:.{digits}f}%"


def _fmt(value: Any, kind: Format) -> str:
    if kind == "int":
        return fmt_int(value)
    if kind == "wan":
        return fmt_wan(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "float":
        return EMPTY if _missing(value) else f"{float(value):,.2f}"
    if kind == "date":
        return EMPTY if _missing(value) else (value.isoformat() if isinstance(value, date) else str(value))
    return EMPTY if _missing(value) else str(value)


@dataclass(frozen=True)
class Kpi:
    """One big-number card: a zh label with its English subtitle, a formatted value and an optional unit/note."""

    label_zh: str
    label_en: str
    value: str
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class KpiGrid:
    """A row of KPI cards."""

    items: Sequence[Kpi]


@dataclass(frozen=True)
class Column:
    """How a table column is shown: its key in the frame, zh header, English subheader and number format."""

    key: str
    zh: str
    en: str = ""
    fmt: Format = "text"


@dataclass(frozen=True)
class TableBlock:
    """A table of aggregates; numbers are formatted per column and right-aligned."""

    frame: pd.DataFrame
    columns: Sequence[Column]
    title_zh: str = ""
    title_en: str = ""
    note: str = ""


@dataclass(frozen=True)
class FigureBlock:
    """A plotly figure; the report applies its fonts and colours and draws it offline."""

    figure: go.Figure
    title_zh: str = ""
    title_en: str = ""
    height: int = 360


@dataclass(frozen=True)
class Note:
    """A short paragraph (zh, with an optional English line); ``kind="warning"`` highlights it."""

    zh: str
    en: str = ""
    kind: Literal["info", "warning"] = "info"


@dataclass(frozen=True)
class Link:
    """A link to a file written next to the report (e.g. ``catalogue.html``), with an optional note.

    ``href`` must be a relative path: the report references nothing outside its run folder.
    """

    href: str
    label_zh: str
    label_en: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        # No scheme (http:, file:, javascript:) and no absolute path.
        if not self.href or ":" in self.href or self.href.startswith(("/", "\\")):
            raise ValueError(f"link {self.href!r} must be a relative path to a file next to the report")


Block = KpiGrid | TableBlock | FigureBlock | Note | Link


@dataclass(frozen=True)
class Section:
    """A report section: ``id`` becomes the HTML id, the nav anchor and the ``data-section`` attribute."""

    id: str
    title_zh: str
    title_en: str
    blocks: Sequence[Block] = field(default_factory=tuple)


@dataclass(frozen=True)
class QualityBadge:
    """The data-quality badge of the footer and header."""

    ok: bool
    label_zh: str
    label_en: str


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("youshu.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


@functools.cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _script_json(obj: Any) -> Markup:
    """JSON safe to place inside ``<script>``: ``</`` and ``<!--`` cannot end or confuse the element."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return Markup(text)


#: Trace types drawn without x/y axes.
_AXISLESS = frozenset({"pie", "sunburst", "treemap", "icicle", "funnelarea", "sankey", "indicator", "table"})


def _legend(fig: go.Figure) -> dict[str, Any]:
    """A horizontal legend under the chart.

    With axes it is anchored to the figure's bottom edge (``yref="container"``) so plotly grows the bottom margin
    for it and it never covers the x-axis title or rotated tick labels. A pie keeps the plot-area anchor: with the
    container anchor its outside labels and the legend push the margins in turn and plotly gives up after
    redrawing ("Too many auto-margin redraws" in the console).
    """
    if fig.data and all(trace.type in _AXISLESS for trace in fig.data):
        return {"orientation": "h", "y": -0.18}
    return {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"}


def _figure_payload(block: FigureBlock, div_id: str) -> dict[str, Any]:
    fig = go.Figure(block.figure)
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_STACK, "size": 13},
        colorway=list(PALETTE),
        height=block.height,
        margin={"l": 56, "r": 24, "t": 36, "b": 48},
        legend=_legend(fig),
    )
    spec = json.loads(pio.to_json(fig, validate=False, engine="json"))
    config = {"displaylogo": False, "responsive": True}
    return {
        "kind": "figure",
        "id": div_id,
        "title_zh": block.title_zh,
        "title_en": block.title_en,
        "height": block.height,
        "data": _script_json(spec.get("data", [])),
        "layout": _script_json(spec.get("layout", {})),
        "config": _script_json(config),
    }


#: Text cells up to this many characters (an outlet or county name, a date, a status) never wrap: a wide table
#: scrolls sideways instead of breaking "溪云区支行3号网点" into one character per line.
SHORT_TEXT = 16


def _cell(text: str, num: bool) -> dict[str, Any]:
    return {"text": text, "num": num, "short": not num and len(text) <= SHORT_TEXT}


def _table_payload(block: TableBlock) -> dict[str, Any]:
    numeric = {"int", "wan", "pct", "float"}
    header = [{"zh": c.zh, "en": c.en, "num": c.fmt in numeric} for c in block.columns]
    rows = []
    for record in block.frame.to_dict(orient="records"):
        rows.append([_cell(_fmt(record.get(c.key), c.fmt), c.fmt in numeric) for c in block.columns])
    return {
        "kind": "table",
        "title_zh": block.title_zh,
        "title_en": block.title_en,
        "note": block.note,
        "header": header,
        "rows": rows,
    }


def _block_payload(block: Block, div_id: str) -> dict[str, Any]:
    if isinstance(block, KpiGrid):
        return {"kind": "kpis", "items": list(block.items)}
    if isinstance(block, TableBlock):
        return _table_payload(block)
    if isinstance(block, FigureBlock):
        return _figure_payload(block, div_id)
    if isinstance(block, Note):
        return {"kind": "note", "zh": block.zh, "en": block.en, "note_kind": block.kind}
    if isinstance(block, Link):
        return {
            "kind": "link",
            "href": block.href,
            "zh": block.label_zh,
            "en": block.label_en,
            "note": block.note,
        }
    raise TypeError(f"unknown report block {type(block).__name__}")


def stylesheet() -> Markup:
    """The report's CSS (colours, fonts, KPI cards, tables, notes), for other pages that share its look."""
    css = _environment().get_template("report.css").render(font_stack=FONT_STACK)
    return Markup(css)


def render_report(
    sections: Sequence[Section],
    *,
    title: str,
    as_of: date,
    subtitle_en: str = "",
    data_window: tuple[date | None, date | None] | None = None,
    quality: QualityBadge | None = None,
    version: str = __version__,
) -> str:
    """Render sections into one self-contained HTML document.

    The document embeds plotly.js once, draws every figure with ``Plotly.newPlot`` from inline JSON, and
    references no external resource (no CDN, fonts or images). Output is deterministic: the same
    sections give byte-identical HTML (figure ids derive from section ids, JSON keys are sorted).

    Parameters
    ----------
    sections : sequence of Section
        In display order; ids must be unique and are used as anchors and ``data-section`` attributes.
    title : str
        Document title (zh), e.g. ``"邮数 省份经营报告"``.
    as_of : date
        The as-of date the figures describe.
    subtitle_en : str
        English subtitle under the title.
    data_window : (date, date), optional
        First and last day of data used, for the footer.
    quality : QualityBadge, optional
        The data-quality badge.
    version : str
        youshu version for the footer.

    Returns
    -------
    str
        The HTML text (UTF-8 when written).

    Raises
    ------
    ValueError
        When section ids repeat or are not usable as HTML ids.

    Examples
    --------
    >>> html = render_report([Section("overview", "省份概览", "Province overview", [Note("示例")])],
    ...                      title="邮数报告", as_of=date(2025, 9, 30))
    >>> 'data-section="overview"' in html
    True
    """
    seen: set[str] = set()
    rendered = []
    for section in sections:
        if section.id in seen:
            raise ValueError(f"section id {section.id!r} is used twice; ids must be unique")
        if not section.id or not all(ch.isalnum() or ch in "-_" for ch in section.id):
            raise ValueError(f"section id {section.id!r} must be letters, digits, '-' or '_'")
        seen.add(section.id)
        blocks = [_block_payload(b, f"fig-{section.id}-{i}") for i, b in enumerate(section.blocks)]
        rendered.append(
            {"id": section.id, "title_zh": section.title_zh, "title_en": section.title_en, "blocks": blocks}
        )
    window = None
    if data_window is not None:
        window = tuple(EMPTY if d is None else d.isoformat() for d in data_window)
    template = _environment().get_template("report.html")
    return template.render(
        title=title,
        subtitle_en=subtitle_en,
        as_of=as_of.isoformat(),
        data_window=window,
        quality=quality,
        version=version,
        sections=rendered,
        font_stack=FONT_STACK,
        plotly_js=Markup(_plotly_js()),
    )
