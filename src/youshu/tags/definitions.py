"""Tag definitions as data: the YAML format, its pydantic models and ``load_definitions``.

A file under ``definitions/tags/<entity>/`` holds one tag (a mapping) or a small family (a list)::

    id: high_aum
    entity: customer
    display_name_zh: 高资产客户
    display_name_en: High-AUM customer
    category: 资产            # or its English name, e.g. ASSETS
    description: 月日均资产不低于 50 万元。
    owner: retail-analytics
    kind: boolean             # boolean | categorical | score
    expression: aum_fen >= 50000000 AND NOT is_dormant
    depends_on: [is_dormant]  # exactly the tag ids the expression uses
    tests:
      - name: rich and active
        given: {aum_fen: 60000000, days_since_last_txn: 3}
        expect: true

``values`` (allowed results of a categorical tag) and ``range`` (``[lo, hi]`` of a score) are optional.
Everything is checked when the files are loaded; the expression language is described in
``youshu.tags.expressions``.
"""

from __future__ import annotations

import datetime as dtm
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import ibis.expr.types as ir
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from youshu.tags.compiler import FEATURE_DTYPES, TagSet, dependency_cycles, unbound_table
from youshu.tags.errors import Problem, TagDefinitionError
from youshu.tags.expressions import (
    KIND_DTYPES,
    ExpressionError,
    check_kind,
    parse_expression,
    result_literals,
    suggest,
    translate,
)

Entity = Literal["customer", "merchant"]
ENTITIES: tuple[str, ...] = ("customer", "merchant")

#: A value in a test row: what YAML gives for a scalar.
ScalarValue = bool | int | float | str | dtm.date | None


class TagKind(StrEnum):
    """What a tag's value is: a flag, one of a few categories, or a number."""

    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"
    SCORE = "score"


class TagCategory(StrEnum):
    """The tag catalogue's sections (values are the zh names shown to users)."""

    BASIC = "基础属性"
    ASSETS = "资产"
    TRANSACTIONS = "交易行为"
    CHANNELS = "渠道偏好"
    PRODUCTS = "产品持有"
    LIFECYCLE = "生命周期"
    VALUE = "价值"
    RISK = "风险"
    MERCHANT_OPERATIONS = "商户经营"
    MERCHANT_FUNDS = "商户资金"
    MARKETING_RESPONSE = "营销响应"


def _scalar(value: object) -> object:
    if isinstance(value, dtm.datetime):
        raise ValueError("a date-time is not allowed; write a date (YYYY-MM-DD)")
    if value is not None and not isinstance(value, bool | int | float | str | dtm.date):
        raise ValueError(f"must be a number, string, boolean, date or null, not {type(value).__name__}")
    return value


Scalar = Annotated[ScalarValue, BeforeValidator(_scalar)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
TagId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class TagTest(BaseModel):
    """One given/expect row: the features of one entity and the tag value they must give.

    Features left out of ``given`` are null; tags the expression uses are computed from the same row.
    ``expect: null`` expects a null value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Text
    given: dict[str, Scalar] = Field(default_factory=dict)
    expect: Scalar


class TagDefinition(BaseModel):
    """One tag, as written in YAML (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TagId
    entity: Entity
    display_name_zh: Text
    display_name_en: Text
    category: TagCategory
    description: Text
    owner: Text
    kind: TagKind
    expression: Text
    depends_on: list[TagId] = Field(default_factory=list)
    values: list[Text] | None = None
    range: tuple[float, float] | None = None
    tests: list[TagTest] = Field(min_length=1)

    @field_validator("category", mode="before")
    @classmethod
    def _category_by_name(cls, value: object) -> object:
        if isinstance(value, str) and value.upper() in TagCategory.__members__:
            return TagCategory[value.upper()]
        return value


# -- loading ----------------------------------------------------------------------------------------------


def load_definitions(paths: Sequence[Path], feature_schemas: Mapping[str, Mapping[str, str]]) -> TagSet:
    """Load, check and order tag definitions from explicit files and folders.

    Parameters
    ----------
    paths : sequence of Path
        YAML files, or folders searched recursively for ``*.yml`` / ``*.yaml`` (hidden ones skipped).
    feature_schemas : mapping
        ``entity -> {feature name: dtype}`` with dtype one of ``int``, ``float``, ``bool``, ``string``,
        ``date``: the columns a tag of that entity may use.

    Returns
    -------
    TagSet
        The definitions in dependency order.

    Raises
    ------
    TagDefinitionError
        Listing every problem, each naming the file, the tag and the field: malformed YAML, unknown or
        missing fields, a bad category or kind, an invalid expression (syntax, unknown column or function,
        types, kind), ``depends_on`` not matching the tags the expression uses, duplicate ids, dependency
        cycles, and tests whose ``given`` or ``expect`` do not fit.

    Examples
    --------
    >>> tags = load_definitions(  # doctest: +SKIP
    ...     [Path("definitions/tags/customer")],
    ...     {"customer": {"aum_fen": "int", "days_since_last_txn": "int"}},
    ... )
    >>> tags.ids  # doctest: +SKIP
    ('is_dormant', 'high_aum')
    """
    problems = _check_schemas(feature_schemas)
    found: list[tuple[TagDefinition, Path]] = []
    for file in _files(paths, problems):
        found.extend(_read_file(file, problems))
    malformed = bool(problems)  # a tag that did not parse would make others' references look unknown
    for d, file in found:
        problems.extend(Problem(file, d.id, field, message) for field, message in _check_fields(d, file))
    if not malformed:
        across = _check_set(found, feature_schemas)
        problems.extend(across)
        if not across:
            problems.extend(_cycles(found))
    if problems:
        raise TagDefinitionError(problems)
    return TagSet(
        [d for d, _ in found],
        feature_schemas={e: dict(s) for e, s in feature_schemas.items()},
        sources={d.id: f for d, f in found},
    )


def _cycles(found: Sequence[tuple[TagDefinition, Path]]) -> list[Problem]:
    sources = {d.id: file for d, file in found}
    problems = []
    for cycle in dependency_cycles({d.id: list(d.depends_on) for d, _ in found}):
        files = ", ".join(sorted({str(sources[t]) for t in cycle}))
        chain = " -> ".join([*cycle, cycle[0]])
        problems.append(Problem(sources[cycle[0]], cycle[0], "depends_on", f"cycle {chain} (in {files})"))
    return problems


def _check_schemas(feature_schemas: Mapping[str, Mapping[str, str]]) -> list[Problem]:
    problems = []
    for entity, schema in feature_schemas.items():
        if entity not in ENTITIES:
            problems.append(
                Problem(None, None, "feature_schemas", f"unknown entity {entity!r}; use one of {ENTITIES}")
            )
            continue
        for name, dtype in schema.items():
            if dtype not in FEATURE_DTYPES:
                problems.append(
                    Problem(
                        None,
                        None,
                        f"feature_schemas.{entity}.{name}",
                        f"unknown dtype {dtype!r}; use one of {', '.join(FEATURE_DTYPES)}",
                    )
                )
    return problems


def _files(paths: Sequence[Path], problems: list[Problem]) -> list[Path]:
    files: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()]
            for p in sorted(found):
                if not any(part.startswith(".") for part in p.relative_to(path).parts):
                    files.setdefault(p.resolve(), p)
        elif path.is_file():
            files.setdefault(path.resolve(), path)
        else:
            problems.append(Problem(path, None, None, "no such file or folder"))
    return list(files.values())


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        if isinstance(key, str | int | float | bool):
            seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _read_file(file: Path, problems: list[Problem]) -> list[tuple[TagDefinition, Path]]:
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        problems.append(Problem(file, None, None, f"invalid YAML: {' '.join(str(exc).split())}"))
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(file, None, None, f"cannot read: {exc}"))
        return []
    if data is None:
        problems.append(
            Problem(file, None, None, "the file is empty; write one tag (a mapping) or a list of tags")
        )
        return []
    items = data if isinstance(data, list) else [data]
    result = []
    for index, item in enumerate(items):
        label = f"#{index + 1}"
        if not isinstance(item, dict):
            problems.append(Problem(file, label, None, "a tag must be a mapping of fields"))
            continue
        if isinstance(item.get("id"), str):
            label = item["id"]
        try:
            definition = TagDefinition.model_validate(item)
        except ValidationError as exc:
            problems.extend(Problem(file, label, field, msg) for field, msg in _pydantic_problems(exc))
            continue
        result.append((definition, file))
    return result


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for error in exc.errors():
        loc = error["loc"]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(tag)"
        if error["type"] == "extra_forbidden":
            model = TagTest if "tests" in loc[:1] and len(loc) > 2 else TagDefinition
            allowed = ", ".join(model.model_fields)
            out.append((field, f"unknown field; allowed fields: {allowed}"))
        elif error["type"] == "missing":
            out.append((field, "required field is missing"))
        elif error["type"] == "enum" and loc[:1] == ("category",):
            allowed = ", ".join(f"{c.value} ({c.name})" for c in TagCategory)
            out.append((field, f"unknown category {error['input']!r}; use one of: {allowed}"))
        else:
            out.append((field, error["msg"]))
    return out


def _check_fields(d: TagDefinition, file: Path) -> list[tuple[str, str]]:
    """Checks of one definition on its own (the expression is checked with the whole set)."""
    out = []
    folder = file.parent.name
    if folder in ENTITIES and folder != d.entity:
        out.append(("entity", f"{d.entity!r} in a file under {folder}/; move the file or fix the entity"))
    if d.values is not None and d.kind != TagKind.CATEGORICAL:
        out.append(("values", f"only categorical tags list values; this tag is {d.kind}"))
    if d.values is not None and len(set(d.values)) != len(d.values):
        out.append(("values", "each value may be listed once"))
    if d.range is not None and d.kind != TagKind.SCORE:
        out.append(("range", f"only score tags have a range; this tag is {d.kind}"))
    if d.range is not None and not d.range[0] <= d.range[1]:
        out.append(("range", f"[{d.range[0]}, {d.range[1]}]: the low end must not exceed the high end"))
    if len(set(d.depends_on)) != len(d.depends_on):
        out.append(("depends_on", "each tag may be listed once"))
    names = [t.name for t in d.tests]
    for name in sorted({n for n in names if names.count(n) > 1}):
        out.append(("tests", f"test name {name!r} is used twice"))
    for i, test in enumerate(d.tests):
        problem = expect_problem(d, test.expect)
        if problem:
            out.append((f"tests[{i}].expect", problem))
    return out


def expect_problem(d: TagDefinition, value: ScalarValue) -> str | None:
    """Why ``value`` cannot be a value of tag ``d`` (kind, ``values``, ``range``), or None if it can."""
    if value is None:
        return None
    if d.kind == TagKind.BOOLEAN and not isinstance(value, bool):
        return f"a boolean tag gives true, false or null, not {value!r}"
    if d.kind == TagKind.CATEGORICAL:
        if not isinstance(value, str):
            return f"a categorical tag gives a string or null, not {value!r}"
        if d.values is not None and value not in d.values:
            return f"{value!r} is not one of the tag's values {d.values}"
    if d.kind == TagKind.SCORE:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"a score tag gives a finite number or null, not {value!r}"
        if d.range is not None and not d.range[0] <= value <= d.range[1]:
            return f"{value!r} is outside the tag's range [{d.range[0]}, {d.range[1]}]"
    return None


def coerce_feature(value: ScalarValue, dtype: str) -> ScalarValue:
    """``value`` (from YAML) as the Python value of a feature of ``dtype``; ValueError if it does not fit."""
    if value is None:
        return None
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "string": isinstance(value, str),
        "date": isinstance(value, dtm.date | str),
    }[dtype]
    if not ok:
        raise ValueError(f"a {dtype} feature cannot be {value!r}")
    if dtype == "float":
        return float(value)  # type: ignore[arg-type]
    if dtype == "date" and isinstance(value, str):
        try:
            return dtm.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


# -- checks across definitions ----------------------------------------------------------------------------


def _check_set(
    found: Sequence[tuple[TagDefinition, Path]], feature_schemas: Mapping[str, Mapping[str, str]]
) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for d, file in found:
        if d.id in first:
            where = f"{first[d.id]} and {file}" if first[d.id] != file else f"{file}, twice"
            problems.append(Problem(file, d.id, "id", f"tag id {d.id!r} is defined twice: {where}"))
        first.setdefault(d.id, file)
    entity_of = {d.id: d.entity for d, _ in found}
    kinds = {d.id: d.kind for d, _ in found}
    tables = {}
    for entity, features in feature_schemas.items():
        tags = {t: KIND_DTYPES[kinds[t]] for t, e in entity_of.items() if e == entity and t not in features}
        tables[entity] = unbound_table(features, tags)
    for d, file in found:
        schema = feature_schemas.get(d.entity)
        if schema is None:
            problems.append(
                Problem(
                    file,
                    d.id,
                    "entity",
                    f"no feature schema for {d.entity!r} tags; pass one to load_definitions",
                )
            )
            continue
        if d.id in schema:
            problems.append(
                Problem(file, d.id, "id", f"{d.id!r} is also a {d.entity} feature; choose another id")
            )
            continue
        checks = [
            *_check_expression(d, tables[d.entity], schema, entity_of),
            *_check_given(d, schema, entity_of),
        ]
        problems.extend(Problem(file, d.id, field, message) for field, message in checks)
    return problems


def _check_expression(
    d: TagDefinition, table: ir.Table, schema: Mapping[str, str], entity_of: Mapping[str, str]
) -> list[tuple[str, str]]:
    try:
        parsed = parse_expression(d.expression)
    except ExpressionError as exc:
        return [("expression", str(exc))]
    tags = [n for n in parsed.names if n in entity_of and n not in schema]
    foreign = [n for n in tags if entity_of[n] != d.entity]
    if foreign:
        other = entity_of[foreign[0]]
        message = f"{foreign[0]!r} is a {other} tag; {d.entity} tags use {d.entity} features and tags only"
        return [("expression", message)]
    out = []
    used, listed = sorted(tags), sorted(d.depends_on)
    if used != listed:
        message = (
            f"lists {listed} but the expression uses the tags {used}; depends_on must name exactly those"
        )
        out.append(("depends_on", message))
    try:
        check_kind(translate(parsed, table), d.kind)
    except ExpressionError as exc:
        return [("expression", str(exc))]
    if d.kind == TagKind.CATEGORICAL and d.values is not None:
        stray = [v for v in result_literals(parsed) if v not in d.values]
        if stray:
            out.append(("expression", f"can give {stray}, which are not among the tag's values {d.values}"))
    return out


def _check_given(
    d: TagDefinition, schema: Mapping[str, str], entity_of: Mapping[str, str]
) -> list[tuple[str, str]]:
    out = []
    for i, test in enumerate(d.tests):
        for column, value in test.given.items():
            field = f"tests[{i}].given.{column}"
            if column in entity_of:
                out.append((field, f"{column!r} is a tag; given sets features only (tags are computed)"))
            elif column not in schema:
                out.append((field, f"unknown feature {column!r}{suggest(column, schema)}"))
            else:
                try:
                    coerce_feature(value, schema[column])
                except ValueError as exc:
                    out.append((field, str(exc)))
    return out
