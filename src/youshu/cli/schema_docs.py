"""``youshu schema docs``: write the schema reference (docs/schema.md) generated from the table specs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from youshu.atomic import atomic_file
from youshu.cli.main import app
from youshu.schema.docs import render_schema_markdown

console = Console()

schema_app = typer.Typer(
    name="schema",
    help="规范表结构 Canonical table specs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(schema_app, name="schema")


@schema_app.command("docs")
def docs(
    out: Path = typer.Option(Path("docs/schema.md"), "--out", "-o", help="Markdown file to write."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the file is not up to date."),
) -> None:
    """Write the schema reference (表结构文档) generated from the canonical specs.

    Every table with its zh/en description, grain, primary key and columns (type, required, zh, en, allowed
    values, foreign keys, constraints).

    Examples:

      youshu schema docs

      youshu schema docs --out docs/schema.md --check
    """
    text = render_schema_markdown()
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            console.print(
                f"{out} is out of date; regenerate it with `youshu schema docs --out {out}`",
                soft_wrap=True,
                highlight=False,
            )
            raise typer.Exit(1)
        console.print(f"{out} is up to date", soft_wrap=True, highlight=False)
        return
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    console.print(f"写入 wrote {out} ({text.count(chr(10))} lines)", soft_wrap=True, highlight=False)
