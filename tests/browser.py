"""Headless Chromium for page tests: one run gives the DOM after scripts ran, console messages and a screenshot.

The network is blocked (every request goes to a closed proxy port and no host name resolves), so a page that
still needs a CDN, a web font or a tile server shows it as a blank chart or a console error. Debian's
``/usr/bin/chromium`` is used; tests skip without it unless ``CI`` is set (there a missing browser fails them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

#: Flags that cut the page off from the network: a closed proxy port for every request, and no name resolves.
BLOCK_NETWORK = ("--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")

requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"headless Chromium not found at {CHROMIUM}; install Debian's chromium to run page tests",
)

# With --enable-logging=stderr Chromium writes every console message (log, warn, error and uncaught exceptions
# alike, all at INFO) as: [pid:tid:time:INFO:CONSOLE:1] "text", source: file:///page.html (12)
# Older builds write CONSOLE(12) instead of CONSOLE:12.
_CONSOLE = re.compile(r':CONSOLE[:(]\d*\)?\]\s*"(?P<text>.*)", source: (?P<source>.*?) \((?P<line>\d+)\)\s*$')


@dataclass(frozen=True)
class ConsoleMessage:
    """One message the page wrote to the browser console (Chromium does not log its level)."""

    text: str
    source: str
    line: int

    @property
    def is_uncaught(self) -> bool:
        """Whether it reports an exception no script caught (``Uncaught Error: ...``)."""
        return self.text.startswith("Uncaught")

    def __str__(self) -> str:
        return f"{self.text} ({self.source}:{self.line})"


@dataclass(frozen=True)
class PageRun:
    """What one headless load of a page gave: the serialised DOM, console messages and Chromium's stderr."""

    dom: str
    console: list[ConsoleMessage]
    stderr: str


def console_messages(stderr: str) -> list[ConsoleMessage]:
    """The console messages in Chromium's ``--enable-logging=stderr`` output, in order.

    Examples
    --------
    >>> line = '[1:1:1129/110105.5:INFO:CONSOLE:1] "Uncaught Error: x", source: file:///p.html (3)'
    >>> console_messages(line)[0].is_uncaught
    True
    """
    found = []
    for line in stderr.splitlines():
        m = _CONSOLE.search(line)
        if m:
            found.append(ConsoleMessage(m["text"], m["source"], int(m["line"])))
    return found


def load_page(
    page: Path,
    profile: Path,
    *,
    screenshot: Path | None = None,
    dump_dom: bool = True,
    window: tuple[int, int] = (1000, 800),
    budget_ms: int = 15_000,
    timeout_s: float = 180,
) -> PageRun:
    """Open ``page`` in headless Chromium with the network blocked and let its scripts run.

    Parameters
    ----------
    page : Path
        The HTML file.
    profile : Path
        A fresh user-data folder (e.g. under ``tmp_path``) so runs share no state.
    screenshot : Path, optional
        Write a PNG of the viewport (``window`` wide and high) here.
    dump_dom : bool
        Return the DOM serialised after scripts ran (``PageRun.dom``; empty otherwise).
    window : (int, int)
        Viewport width and height in CSS pixels.
    budget_ms : int
        Virtual time the page gets before the DOM is dumped and the screenshot taken.

    Returns
    -------
    PageRun
    """
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *BLOCK_NETWORK,
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={window[0]},{window[1]}",
        f"--virtual-time-budget={budget_ms}",
    ]
    if screenshot is not None:
        cmd.append(f"--screenshot={screenshot}")
    if dump_dom:
        cmd.append("--dump-dom")
    cmd.append(page.absolute().as_uri())
    done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise AssertionError(f"chromium exited with {done.returncode} on {page}:\n{stderr[-3000:]}")
    if screenshot is not None and not screenshot.is_file():
        raise AssertionError(f"chromium wrote no screenshot {screenshot}:\n{stderr[-3000:]}")
    return PageRun(done.stdout.decode("utf-8", "replace"), console_messages(stderr), stderr)
