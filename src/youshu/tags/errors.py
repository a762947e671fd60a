"""Errors of tag definitions: each problem names the file, the tag and the field to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from youshu.errors import YoushuError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the tag definitions.

    Attributes
    ----------
    file : Path or None
        The YAML file (None for problems of the feature schemas).
    tag : str or None
        The tag id, or ``#N`` (position in the file) when the id itself is missing or invalid.
    field : str or None
        The field, e.g. ``expression``, ``depends_on`` or ``tests[0].expect``.
    message : str
        What is wrong and, where it helps, what is allowed.
    """

    file: Path | None
    tag: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.tag is not None:
            parts.append(f"tag {self.tag}")
        if self.field is not None:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class TagDefinitionError(YoushuError):
    """Tag definitions failed to load; ``problems`` lists every problem found, each naming file and field.

    Examples
    --------
    ``definitions/tags/customer/asset.yml: tag high_aum: expression: unknown column 'aum_fenn'
    (did you mean 'aum_fen'?)``
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            lines = "\n".join(f"- {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in the tag definitions:\n{lines}"
        super().__init__(message)


class TagTestsFailed(YoushuError):
    """A definition's given/expect tests failed, so its tags were not applied."""


class ExpressionError(YoushuError):
    """An expression uses syntax, a function, a column or a type the tag language does not allow."""
