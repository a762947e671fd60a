"""Errors that youshu raises on purpose: each says what went wrong and what to do."""

from __future__ import annotations


class YoushuError(Exception):
    """Base class for errors a user can act on; the CLI prints them without a traceback (exit code 2)."""


class ConfigError(YoushuError):
    """The project configuration (youshu.yaml or YOUSHU_* variables) is invalid."""


class ValidationFailed(YoushuError):
    """Input data broke the canonical schema; ``report`` lists every problem found."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class MappingError(YoushuError):
    """An import mapping file (map.yml) is malformed or does not match the source files."""


class EngineError(YoushuError):
    """An engine (DuckDB or Spark) could not be started or cannot run the requested operation."""


class TruthAccessError(YoushuError):
    """Pipeline or model code tried to read the synthetic province's planted truth."""
