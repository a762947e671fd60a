"""The ``youshu`` command: ``youshu <noun> <verb>``; thin over the library."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from youshu import __version__
from youshu.errors import YoushuError

app = typer.Typer(
    name="youshu",
    help="邮数 youshu — data-modeling workbench for a postal savings bank.\n\n"
    "Examples:\n\n"
    "  youshu synth --customers 50000 --seed 7 --out data/warehouse\n\n"
    "  youshu data validate data/warehouse --as-of 2025-09-30\n\n"
    "  youshu run --as-of 2025-09-30\n\n"
    "  youshu demo",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"youshu {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def _register() -> None:
    # Sub-commands live in their own modules; each registers on import.
    from youshu.cli import (  # noqa: F401
        audience,
        campaigns,
        chainloan,
        circles,
        data,
        ivl,
        kpi,
        merchants,
        models,
        registry,
        report,
        risk,
        run,
        rural,
        schema_docs,
        serve,
        synth,
        tags,
        targets,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns ``YoushuError`` into a message and exit code 2 (no traceback)."""
    _register()
    try:
        # Outside standalone mode click returns a command's exit code instead of raising it.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except YoushuError as exc:
        # Error text may hold paths like "[/data/x]" that rich would read as markup.
        err_console.print(f"[bold red]错误 error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors (missing argument, bad date, unknown option) from typer's bundled click: show the
        # usage message and exit 2 like click itself, never a traceback.
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2) or 2)
