"""Tags (标签) as data: YAML definitions, their expression language, compiler, tests, plan and apply.

>>> tagset = load_definitions([Path("definitions/tags")], feature_schemas)  # doctest: +SKIP
>>> [r.message for r in run_tests(tagset) if not r.passed]  # doctest: +SKIP
[]
>>> print(plan(tagset, Path("out") / STATE_FILE).render())  # doctest: +SKIP
>>> apply(eng, tagset, features, "customer", "2026-06-30", Path("out"))  # doctest: +SKIP

Names are imported on first use, so ``youshu.tags.audience`` does not pay for Ibis and sqlglot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from youshu.tags.compiler import FEATURE_DTYPES, TagSet
    from youshu.tags.definitions import (
        ENTITIES,
        TagCategory,
        TagDefinition,
        TagKind,
        TagTest,
        load_definitions,
    )
    from youshu.tags.errors import ExpressionError, Problem, TagDefinitionError, TagTestsFailed
    from youshu.tags.expressions import ALLOWED_FUNCTIONS
    from youshu.tags.state import STATE_FILE, ApplyResult, Plan, TagChange, apply, plan
    from youshu.tags.testing import TestResult, run_tests

_EXPORTS = {
    "youshu.tags.compiler": ("FEATURE_DTYPES", "TagSet"),
    "youshu.tags.definitions": (
        "ENTITIES",
        "TagCategory",
        "TagDefinition",
        "TagKind",
        "TagTest",
        "load_definitions",
    ),
    "youshu.tags.errors": ("ExpressionError", "Problem", "TagDefinitionError", "TagTestsFailed"),
    "youshu.tags.expressions": ("ALLOWED_FUNCTIONS",),
    "youshu.tags.state": ("STATE_FILE", "ApplyResult", "Plan", "TagChange", "apply", "plan"),
    "youshu.tags.testing": ("TestResult", "run_tests"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ENTITIES",
    "FEATURE_DTYPES",
    "STATE_FILE",
    "ApplyResult",
    "ExpressionError",
    "Plan",
    "Problem",
    "TagCategory",
    "TagChange",
    "TagDefinition",
    "TagDefinitionError",
    "TagKind",
    "TagSet",
    "TagTest",
    "TagTestsFailed",
    "TestResult",
    "apply",
    "load_definitions",
    "plan",
    "run_tests",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'youshu.tags' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
