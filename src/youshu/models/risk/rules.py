"""The transparent rules layer: regulatory-style conditions over account features, as data (``definitions/risk``).

A rule file is a YAML list; each rule has an ``id``, Chinese and English names, a description, a boolean
``expression`` in the tag expression language (``youshu.tags.expressions``: a whitelisted SQL subset over the
features of ``youshu.features.risk`` and ``youshu.features.graph``), a ``prior_precision`` (the share of
accounts it flags that are expected to be risky, used until confirmed cases calibrate it) and given/expect
``tests``. Rules are checked when loaded: unknown features, wrong types and failing tests are refused then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from youshu.engine import connect
from youshu.errors import YoushuError
from youshu.features.graph import GRAPH_FEATURES
from youshu.features.risk import RISK_FEATURES
from youshu.tags.compiler import unbound_table
from youshu.tags.definitions import coerce_feature
from youshu.tags.errors import ExpressionError
from youshu.tags.expressions import check_kind, parse_expression, translate

__all__ = ["DEFAULT_RULES", "FEATURE_DTYPES", "Rule", "RuleSet", "load_rules"]

#: The rules shipped with youshu.
DEFAULT_RULES = Path(__file__).resolve().parents[4] / "definitions" / "risk" / "rules.yml"
#: Every feature a rule may use, with its dtype.
FEATURE_DTYPES: dict[str, str] = {s.name: s.dtype for s in (*RISK_FEATURES, *GRAPH_FEATURES)}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class RuleTest(BaseModel):
    """Features of one account (others take their default: 0, false or null) and whether the rule fires."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    given: dict[str, bool | int | float | None] = Field(default_factory=dict)
    expect: bool


class Rule(BaseModel):
    """One rule as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId
    name_zh: Text
    name_en: Text
    description: Text
    expression: Text
    prior_precision: float = Field(gt=0, lt=1)
    tests: list[RuleTest] = Field(min_length=1)


@dataclass(frozen=True)
class RuleSet:
    """Loaded, checked rules; :meth:`hits` evaluates them on a feature frame."""

    rules: tuple[Rule, ...]
    source: str = ""

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}; rules: {', '.join(self.ids)}")

    def expressions(self, table: ir.Table) -> dict[str, ir.BooleanValue]:
        """Each rule as a boolean Ibis expression over ``table`` (null counts as not firing)."""
        out = {}
        for rule in self.rules:
            value = translate(parse_expression(rule.expression), table)
            out[rule.id] = value.fill_null(False)
        return out

    def hits(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Boolean frame (rows of ``frame``, one column per rule): which rules fire on which account.

        Raises
        ------
        YoushuError
            When ``frame`` lacks a feature a rule uses.
        """
        used = sorted({n for r in self.rules for n in parse_expression(r.expression).names})
        missing = [n for n in used if n not in frame.columns]
        if missing:
            raise YoushuError(f"the feature frame lacks {missing}, used by the risk rules ({self.source})")
        if frame.empty or not self.rules:
            return pd.DataFrame(False, index=frame.index, columns=self.ids)
        data = frame[used].copy()
        data["_row"] = np.arange(len(frame))
        table = ibis.memtable(data)
        with connect("duckdb") as eng:
            result = eng.execute(table.select("_row", **self.expressions(table)).order_by("_row"))
        out = result[self.ids].astype(bool)
        out.index = frame.index
        return out

    def run_tests(self) -> list[str]:
        """Failures of the rules' given/expect tests (empty when all pass)."""
        failures = []
        for rule in self.rules:
            for i, test in enumerate(rule.tests):
                row = {name: _default(dtype) for name, dtype in FEATURE_DTYPES.items()}
                row.update(test.given)
                frame = pd.DataFrame([row]).astype(_pandas_dtypes(row))
                got = bool(RuleSet((rule,), self.source).hits(frame)[rule.id].iloc[0])
                if got != test.expect:
                    failures.append(
                        f"rule {rule.id} test {i + 1}: given {test.given} expected {test.expect}, got {got}"
                    )
        return failures


def _default(dtype: str) -> Any:
    return {"int": 0, "float": math.nan, "bool": False}.get(dtype)


def _pandas_dtypes(row: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in row.items():
        dtype = FEATURE_DTYPES[name]
        out[name] = (
            {"int": "int64", "float": "float64", "bool": "bool"}[dtype] if value is not None else "float64"
        )
    return out


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and check a rule file (default: the shipped ``definitions/risk/rules.yml``).

    Raises
    ------
    YoushuError
        Naming the file, the rule and what is wrong: YAML or field errors, duplicate ids, unknown features,
        non-boolean expressions, bad test values or failing tests.
    """
    path = Path(path) if path is not None else DEFAULT_RULES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise YoushuError(f"cannot read risk rules {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise YoushuError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, list):
        raise YoushuError(f"{path}: expected a YAML list of rules, got {type(raw).__name__}")
    rules: list[Rule] = []
    problems: list[str] = []
    for i, item in enumerate(raw):
        try:
            rules.append(Rule.model_validate(item))
        except ValidationError as exc:
            name = item.get("id", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            problems.append(f"rule {name}: {details}")
    problems += _check(rules)
    if problems:
        raise YoushuError(f"{path}: " + " | ".join(problems))
    ruleset = RuleSet(tuple(rules), str(path))
    failures = ruleset.run_tests()
    if failures:
        raise YoushuError(f"{path}: " + " | ".join(failures))
    return ruleset


def _check(rules: Sequence[Rule]) -> list[str]:
    problems = []
    seen: set[str] = set()
    table = unbound_table(FEATURE_DTYPES)
    for rule in rules:
        if rule.id in seen:
            problems.append(f"rule {rule.id} is defined twice")
        seen.add(rule.id)
        try:
            value = translate(parse_expression(rule.expression), table)
            check_kind(value, "boolean")
        except ExpressionError as exc:
            problems.append(f"rule {rule.id}: {exc}")
            continue
        for i, test in enumerate(rule.tests):
            for name, given in test.given.items():
                if name not in FEATURE_DTYPES:
                    problems.append(f"rule {rule.id} test {i + 1}: unknown feature {name!r}")
                    continue
                try:
                    coerce_feature(given, FEATURE_DTYPES[name])
                except ValueError as exc:
                    problems.append(f"rule {rule.id} test {i + 1}: {name}: {exc}")
    return problems
