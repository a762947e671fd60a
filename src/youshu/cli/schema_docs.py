"""``youshu schema docs``: write the generated references: docs/schema.md (table specs), docs/tag-catalogue.md."""

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

SCHEMA_DOCS = Path("docs/schema.md")
TAG_CATALOGUE_DOCS = Path("docs/tag-catalogue.md")


def _tag_catalogue(definitions: Path | None) -> str:
    from youshu.config import get_settings
    from youshu.tags.catalogue import render_definitions_markdown

    if definitions is None:
        settings = get_settings()
        definitions = settings.resolve(settings.definitions_dir) / "tags"
    return render_definitions_markdown([definitions])


@schema_app.command("docs")
def docs(
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Markdown file to write (default docs/schema.md, with --tags docs/tag-catalogue.md).",
    ),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the file is not up to date."),
    tags: bool = typer.Option(
        False, "--tags", help="Write the tag catalogue (标签目录) generated from the tag definitions instead."
    ),
    definitions: Path = typer.Option(
        None, "--definitions", help="With --tags: the tag definitions folder (default definitions_dir/tags)."
    ),
) -> None:
    """Write the schema reference (表结构文档) generated from the canonical specs, or the tag catalogue.

    The schema reference lists every table with its zh/en description, grain, primary key and columns (type,
    required, zh, en, allowed values, foreign keys, constraints). With --tags, the tag catalogue lists every
    tag by entity and category with its names, kind, description, owner, expression and dependencies.

    Examples:

      youshu schema docs

      youshu schema docs --out docs/schema.md --check

      youshu schema docs --tags --check
    """
    if out is None:
        out = TAG_CATALOGUE_DOCS if tags else SCHEMA_DOCS
    text = _tag_catalogue(definitions) if tags else render_schema_markdown()
    command = "youshu schema docs" + (" --tags" if tags else "")
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            console.print(
                f"{out} is out of date; regenerate it with `{command} --out {out}`",
                soft_wrap=True,
                highlight=False,
            )
            raise typer.Exit(1)
        console.print(f"{out} is up to date", soft_wrap=True, highlight=False)
        return
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    console.print(f"写入 wrote {out} ({text.count(chr(10))} lines)", soft_wrap=True, highlight=False)
