"""``youshu tags list|describe|plan|apply|test|explain``: the tag definitions and their values (标签)."""

from __future__ import annotations

import datetime as dtm
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.cells import cell_len
from rich.console import Console

from youshu.cli.main import app
from youshu.cli.progress import progress_bar
from youshu.config import Settings, get_settings
from youshu.engine import Engine
from youshu.errors import YoushuError

if TYPE_CHECKING:
    from youshu.tags.compiler import TagSet

tags_app = typer.Typer(
    help="标签 Tags: list, describe, plan, apply, test and explain the tag definitions.", no_args_is_help=True
)
app.add_typer(tags_app, name="tags")
console = Console()

ENGINES = ("duckdb", "spark")

DEFINITIONS_HELP = "Folder (or file) of tag definitions (default: <definitions_dir>/tags from youshu.yaml)."
ENTITY_HELP = "customer or merchant (default: both)."

# -- shared helpers ------------------------------------------------------------------------------------------


def _say(text: str) -> None:
    # Plain text: expressions and paths may hold brackets that rich would read as markup.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _settings_for(engine: str | None) -> Settings:
    settings = get_settings()
    if engine is None:
        return settings
    if engine not in ENGINES:
        raise typer.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}", param_hint="--engine"
        )
    return settings.model_copy(update={"engine": engine})


def _open_engine(settings: Settings) -> Engine:
    from youshu.engine import connect, connect_from_settings

    if settings.engine == "duckdb":
        # In memory: tags only read Parquet and write under tags_dir, nothing else.
        return connect("duckdb", memory_limit=settings.duckdb_memory_limit)
    return connect_from_settings(settings)


def _load(settings: Settings, definitions: Path | None) -> TagSet:
    from youshu.features.catalog import feature_schema
    from youshu.tags.definitions import ENTITIES, load_definitions

    path = definitions if definitions is not None else settings.resolve(settings.definitions_dir) / "tags"
    if not path.exists():
        raise YoushuError(
            f"no tag definitions at {path}; set definitions_dir in youshu.yaml (tags/customer and "
            "tags/merchant go under it) or pass --definitions"
        )
    return load_definitions([path], {e: feature_schema(e) for e in ENTITIES})


def _entities(entity: str | None) -> tuple[str, ...]:
    from youshu.tags.definitions import ENTITIES

    if entity is None:
        return ENTITIES
    if entity not in ENTITIES:
        raise typer.BadParameter(
            f"unknown entity {entity!r}; choose one of: {', '.join(ENTITIES)}", param_hint="--entity"
        )
    return (entity,)


def _day(value: dtm.datetime | None, settings: Settings, *, required: bool) -> dtm.date | None:
    if value is not None:
        return value.date()
    if settings.as_of is None and required:
        raise typer.BadParameter(
            "give the as-of date, e.g. --as-of 2025-09-30 (or set as_of in youshu.yaml)", param_hint="--as-of"
        )
    return settings.as_of


def _warehouse(settings: Settings, warehouse: Path | None) -> Path:
    path = warehouse if warehouse is not None else settings.resolve(settings.warehouse)
    if not path.is_dir():
        raise YoushuError(
            f"warehouse {path} does not exist; generate one (youshu synth) or import data (youshu data import)"
        )
    return path


def _tags_dir(settings: Settings, tags_dir: Path | None) -> Path:
    return tags_dir if tags_dir is not None else settings.resolve(settings.tags_dir)


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows padded into columns by display width (zh characters are two cells wide)."""
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _shown(path: Path | None) -> str:
    """``path`` relative to the current folder when it lies under it."""
    if path is None:
        return "—"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dtm.date):
        return value.isoformat()
    return str(value)


AS_OF = typer.Option(
    None, "--as-of", formats=["%Y-%m-%d"], help="As-of date (default: as_of in youshu.yaml)."
)
DEFINITIONS = typer.Option(None, "--definitions", "-d", help=DEFINITIONS_HELP)
ENTITY = typer.Option(None, "--entity", "-e", help=ENTITY_HELP)
TAGS_DIR = typer.Option(None, "--tags-dir", help="Where applied tags go (default: tags_dir in youshu.yaml).")
WAREHOUSE = typer.Option(None, "--warehouse", "-w", help="Canonical warehouse (default from youshu.yaml).")
ENGINE = typer.Option(None, "--engine", help="duckdb or spark (default from youshu.yaml).")

# -- commands ------------------------------------------------------------------------------------------------


@tags_app.command("list")
def list_tags(
    entity: str = ENTITY,
    category: str = typer.Option(
        None, "--category", "-c", help="A category: 资产, 风险, ... or ASSETS, RISK."
    ),
    definitions: Path = DEFINITIONS,
) -> None:
    """List the tags: id, zh name, kind, category and entity (标签列表).

    Examples:

      youshu tags list

      youshu tags list --entity merchant --category 商户经营
    """
    from youshu.tags.definitions import TagCategory

    tagset = _load(get_settings(), definitions)
    entities = _entities(entity)
    wanted = None
    if category is not None:
        wanted = next(
            (c for c in TagCategory if category in (c.value, c.name) or category.upper() == c.name), None
        )
        if wanted is None:
            allowed = ", ".join(f"{c.value} ({c.name})" for c in TagCategory)
            raise typer.BadParameter(
                f"unknown category {category!r}; use one of: {allowed}", param_hint="--category"
            )
    order = {c: i for i, c in enumerate(TagCategory)}
    chosen = sorted(
        (d for d in tagset if d.entity in entities and (wanted is None or d.category == wanted)),
        key=lambda d: (d.entity, order[d.category], d.id),
    )
    if not chosen:
        _say("没有标签 no tags match")
        return
    rows = [("标签 id", "中文名 name", "类型 kind", "类别 category", "实体 entity")]
    rows += [
        (d.id, d.display_name_zh, str(d.kind), f"{d.category.value} {d.category.name}", d.entity)
        for d in chosen
    ]
    for line in _columns(rows):
        _say(line)
    _say(f"{len(chosen)} 个标签 tags")


@tags_app.command("describe")
def describe(
    tag: str = typer.Argument(..., help="Tag id or zh display name."),
    definitions: Path = DEFINITIONS,
) -> None:
    """Show everything about one tag: fields, expression, what it uses and what uses it, tests, file (标签详情).

    Examples:

      youshu tags describe high_aum_customer

      youshu tags describe 沉睡商户
    """
    from youshu.features.catalog import FEATURES

    tagset = _load(get_settings(), definitions)
    by_name = {d.display_name_zh: d.id for d in tagset}
    tag_id = tag if tag in tagset else by_name.get(tag)
    if tag_id is None:
        close = difflib.get_close_matches(tag, [*tagset.ids, *by_name], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see youshu tags list"
        raise YoushuError(f"no tag {tag!r}{hint}")
    d = tagset[tag_id]
    specs = {s.name: s for s in FEATURES.get(d.entity, ())}
    names = tagset.parsed(d.id).names
    features = [f"{n} ({specs[n].zh})" if n in specs else n for n in names if n not in tagset]
    direct = [t.id for t in tagset if d.id in t.depends_on]
    indirect = [t for t in tagset.downstream([d.id]) if t not in direct]

    def labelled(ids: list[str]) -> str:
        return ", ".join(f"{t} ({tagset[t].display_name_zh})" for t in ids) or "—"

    lines = [
        f"{d.id} · {d.display_name_zh} / {d.display_name_en}",
        f"实体 entity: {d.entity}",
        f"类别 category: {d.category.value} ({d.category.name})",
        f"类型 kind: {d.kind}",
    ]
    if d.values is not None:
        lines.append(f"取值 values: {', '.join(d.values)}")
    if d.range is not None:
        lines.append(f"范围 range: [{d.range[0]:g}, {d.range[1]:g}]")
    lines += [
        f"负责人 owner: {d.owner}",
        f"说明 description: {d.description}",
        f"表达式 expression: {d.expression}",
        f"读取特征 features read: {', '.join(features) or '—'}",
        f"依赖 depends_on: {labelled(list(d.depends_on))}",
        f"被依赖 dependents: {labelled(direct)}",
    ]
    if indirect:
        lines.append(f"间接被依赖 indirect dependents: {labelled(indirect)}")
    lines.append(f"测试 tests ({len(d.tests)}):")
    for test in d.tests:
        given = ", ".join(f"{k}={_literal(v)}" for k, v in test.given.items()) or "(all features null)"
        lines.append(f"  - {test.name}: given {given} -> expect {_literal(test.expect)}")
    lines.append(f"文件 source: {_shown(tagset.source(d.id))}")
    for line in lines:
        _say(line)


@tags_app.command("plan")
def plan_tags(
    as_of: dtm.datetime = AS_OF,
    entity: str = ENTITY,
    definitions: Path = DEFINITIONS,
    tags_dir: Path = TAGS_DIR,
) -> None:
    """Show what `youshu tags apply` would change against the last applied tags (变更计划).

    + added, ~ changed (with the fields before and after), - removed, ! unchanged but using a changed tag.
    With --as-of it also says whether that date was applied before.

    Examples:

      youshu tags plan

      youshu tags plan --as-of 2025-09-30 --entity customer
    """
    from youshu.tags.state import STATE_FILE, plan

    settings = get_settings()
    tagset = _load(settings, definitions)
    out = _tags_dir(settings, tags_dir)
    day = _day(as_of, settings, required=False)
    for name in _entities(entity):
        if not tagset.for_entity(name):
            continue
        result = plan(tagset, out / STATE_FILE, entity=name)
        _say(f"{name} tags ({out}):")
        for line in result.render().splitlines():
            _say(f"  {line}")
        if day is not None:
            folder = out / f"{name}_tags" / f"as_of_date={day.isoformat()}"
            status = "applied before; apply replaces it" if folder.is_dir() else "not applied yet"
            _say(f"  as_of_date={day.isoformat()}: {status}")


@tags_app.command("apply")
def apply_tags(
    as_of: dtm.datetime = AS_OF,
    entity: str = ENTITY,
    engine: str = ENGINE,
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
    tags_dir: Path = TAGS_DIR,
) -> None:
    """Compute features and tags as of a date into <tags_dir>/<entity>_tags/as_of_date=.../ (计算标签).

    Runs the definitions' tests first and writes nothing if one fails. Writes the wide and long forms and
    the audience index of the boolean tags (used by youshu audience count), replacing that date only.

    Examples:

      youshu tags apply --as-of 2025-09-30

      youshu tags apply --as-of 2025-09-30 --entity merchant --engine spark
    """
    from youshu.features import compute_features
    from youshu.tags.state import apply

    settings = _settings_for(engine)
    day = _day(as_of, settings, required=True)
    assert day is not None
    tagset = _load(settings, definitions)
    source = _warehouse(settings, warehouse)
    out = _tags_dir(settings, tags_dir)
    names = [e for e in _entities(entity) if tagset.for_entity(e)]
    if not names:
        raise YoushuError(f"no {entity or 'customer or merchant'} tags in the definitions")
    with _open_engine(settings) as eng:
        for name in names:
            features = compute_features(eng, source, name, day)
            with progress_bar() as progress:
                result = apply(eng, tagset, features, name, day, out, progress=progress)
            p = result.plan
            _say(
                f"{name}: {result.rows:,} rows × {len(result.tags)} tags -> {result.wide_dir.parent} "
                f"({len(p.added)} added, {len(p.changed)} changed, {len(p.removed)} removed since the last apply)"
            )
            for tag_id, n in result.out_of_domain.items():
                _say(f"  注意 warning: {tag_id}: {n:,} rows outside its declared values or range")


@tags_app.command("test")
def test_tags(entity: str = ENTITY, definitions: Path = DEFINITIONS) -> None:
    """Run every definition's given/expect tests; exit 1 if any fails (标签测试).

    Examples:

      youshu tags test

      youshu tags test --entity merchant --definitions my_definitions/tags
    """
    from youshu.tags.testing import run_tests

    tagset = _load(get_settings(), definitions)
    ids = [d.id for d in tagset if d.entity in _entities(entity)]
    results = run_tests(tagset, tags=ids)
    failed = [r for r in results if not r.passed]
    for r in failed:
        test = next(t for t in tagset[r.tag_id].tests if t.name == r.test)
        given = ", ".join(f"{k}={_literal(v)}" for k, v in test.given.items()) or "(all features null)"
        _say(f"失败 FAIL {r.message}")
        _say(f"    row: {given}")
        _say(f"    expected: {_literal(r.expected)}, actual: {_literal(r.actual)}")
    if failed:
        _say(f"{len(failed)} of {len(results)} tests failed")
        raise typer.Exit(1)
    _say(f"通过 all {len(results)} tests of {len(ids)} tags passed")


@tags_app.command("explain")
def explain_tags(
    customer: str = typer.Option(None, "--customer", help="A customer_id."),
    merchant: str = typer.Option(None, "--merchant", help="A merchant_id."),
    as_of: dtm.datetime = AS_OF,
    engine: str = ENGINE,
    warehouse: Path = WAREHOUSE,
    definitions: Path = DEFINITIONS,
) -> None:
    """Explain one customer's or merchant's tags: each value and the feature values it was computed from.

    Money is shown in yuan (¥); no personal data (names, ID-card or phone numbers) is shown.

    Examples:

      youshu tags explain --customer C000000042 --as-of 2025-09-30

      youshu tags explain --merchant M00000007 --as-of 2025-09-30
    """
    from youshu.tags.explain import explain

    if (customer is None) == (merchant is None):
        raise typer.BadParameter(
            "give exactly one of --customer ID or --merchant ID", param_hint="--customer"
        )
    entity, entity_id = ("customer", customer) if customer is not None else ("merchant", merchant)
    settings = _settings_for(engine)
    day = _day(as_of, settings, required=True)
    assert day is not None
    tagset = _load(settings, definitions)
    source = _warehouse(settings, warehouse)
    with _open_engine(settings) as eng:
        result = explain(eng, source, tagset, entity, entity_id, day)
    _say(result.to_text())
