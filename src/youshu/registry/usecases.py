"""The use-case catalogue (应用案例): ``definitions/use_cases/*.yml``, one business problem per file.

Each use case links a business problem to its registered models, tags and target lists, with outcome figures
that say what they were measured on and where the figure comes from. Files are validated with pydantic
(unknown keys refused) and errors name the file.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.errors import YoushuError
from youshu.registry.card import BusinessArea

__all__ = [
    "Outcome",
    "UseCase",
    "UseCaseError",
    "default_use_cases_dir",
    "find_use_case",
    "load_use_case",
    "load_use_cases",
    "use_case_for_model",
]


class UseCaseError(YoushuError):
    """A use-case file is malformed, or a use case is unknown."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Outcome(_Strict):
    """One outcome figure of a use case."""

    metric: str = Field(min_length=1, description="what was measured, zh + en")
    value: float
    unit: str = ""
    measured_on: str = Field(min_length=1, description="e.g. 'synthetic province (100k customers, seed 11)'")
    source: str = Field(min_length=1, description="where the figure comes from (doc, benchmark, test)")


class UseCase(_Strict):
    """A business problem and what solves it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    business_area: BusinessArea
    problem: str = Field(min_length=1, description="the business problem, in the bank's words")
    owner_team: str = ""
    models: tuple[str, ...] = Field(default=(), description="registered model names")
    tags: tuple[str, ...] = Field(default=(), description="tag ids (definitions/tags)")
    lists: tuple[str, ...] = Field(default=(), description="target lists or exports produced")
    outcomes: tuple[Outcome, ...] = ()
    commands: tuple[str, ...] = Field(default=(), description="youshu commands that reproduce it")


def default_use_cases_dir() -> Path:
    """``definitions_dir/use_cases`` of the project when it exists, else the shipped catalogue."""
    from youshu.config import get_settings

    settings = get_settings()
    project = settings.resolve(settings.definitions_dir) / "use_cases"
    if project.is_dir():
        return project
    return Path(__file__).resolve().parents[3] / "definitions" / "use_cases"


def load_use_case(path: Path) -> UseCase:
    """Read one use-case file.

    Raises
    ------
    UseCaseError
        Naming the file and each offending key (unknown keys are refused).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UseCaseError(f"{path}: cannot read it as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UseCaseError(f"{path}: expected a mapping of use-case fields at the top level")
    try:
        return UseCase.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: "
            f"{'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}"
            for e in exc.errors()
        )
        raise UseCaseError(f"{path}: {problems}") from None


def load_use_cases(folder: Path | None = None) -> list[UseCase]:
    """Every ``*.yml`` / ``*.yaml`` use case of a folder, sorted by id.

    Raises
    ------
    UseCaseError
        For a missing folder, a bad file (named) or two files with the same id.
    """
    folder = Path(folder) if folder is not None else default_use_cases_dir()
    if not folder.is_dir():
        raise UseCaseError(f"use-case folder {folder} does not exist")
    seen: dict[str, Path] = {}
    cases = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        case = load_use_case(path)
        if case.id in seen:
            raise UseCaseError(f"{path}: use case id {case.id!r} is already defined in {seen[case.id]}")
        seen[case.id] = path
        cases.append(case)
    return sorted(cases, key=lambda c: c.id)


def find_use_case(cases: list[UseCase], key: str) -> UseCase:
    """The use case with id ``key`` or zh name ``key``.

    Raises
    ------
    UseCaseError
        Naming the known ids.
    """
    for case in cases:
        if key in {case.id, case.name_zh}:
            return case
    raise UseCaseError(f"no use case {key!r}; known: {', '.join(c.id for c in cases) or 'none'}")


def use_case_for_model(cases: list[UseCase], model: str) -> UseCase | None:
    """The first use case listing the registered model ``model``."""
    return next((c for c in cases if model in c.models), None)
