"""The vocabulary of canonical table specs: column types, constraints and zh/en descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa


class DType(StrEnum):
    """Logical column types of the canonical warehouse (stored as the Arrow type in ``ARROW_TYPES``)."""

    STRING = "string"
    INT = "int64"
    FLOAT = "float64"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


ARROW_TYPES: dict[DType, pa.DataType] = {
    DType.STRING: pa.string(),
    DType.INT: pa.int64(),
    DType.FLOAT: pa.float64(),
    DType.BOOL: pa.bool_(),
    DType.DATE: pa.date32(),
    # Local Asia/Shanghai wall-clock time, stored without a zone (the convention of the whole warehouse).
    DType.TIMESTAMP: pa.timestamp("us"),
}


class Pii(StrEnum):
    """Kinds of personal data (JR/T 0171) and how they are masked."""

    NAME = "name"
    ID_CARD = "id_card"
    PHONE = "phone"


class Role(StrEnum):
    """What a column means beyond its type; drives validation rules."""

    PLAIN = "plain"
    MONEY = "money"  # integer fen (分); never negative unless the column allows it
    LATITUDE = "latitude"  # WGS-84 degrees
    LONGITUDE = "longitude"  # WGS-84 degrees
    EVENT_TIME = "event_time"  # a date/time that must not lie after the as-of date


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Column name (snake_case, unit suffix such as ``_fen`` when not obvious).
    dtype : DType
        Logical type.
    zh, en : str
        Descriptions in Chinese and English.
    required : bool
        Whether nulls are forbidden.
    allowed : tuple of str, optional
        The allowed values of an enumerated string column.
    references : tuple of (table, column), optional
        A foreign key.
    role : Role
        Money, coordinate or event-time semantics used by validation.
    min_value, max_value : float, optional
        Inclusive numeric bounds.
    pii : Pii, optional
        Personal data kind; masked in every report of problems and in exports.
    """

    name: str
    dtype: DType
    zh: str
    en: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    references: tuple[str, str] | None = None
    role: Role = Role.PLAIN
    min_value: float | None = None
    max_value: float | None = None
    pii: Pii | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type this column is stored as."""
        return ARROW_TYPES[self.dtype]


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, primary key and descriptions."""

    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    grain_en: str = ""
    extra_notes_en: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raises ``KeyError`` naming the table if absent."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        """Column names in canonical order."""
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the stored table."""
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=not c.required) for c in self.columns])


def col(
    name: str,
    dtype: DType,
    zh: str,
    en: str,
    *,
    required: bool = True,
    allowed: tuple[str, ...] | type[StrEnum] | None = None,
    ref: str | None = None,
    role: Role = Role.PLAIN,
    min_value: float | None = None,
    max_value: float | None = None,
    pii: Pii | None = None,
) -> Column:
    """Build a ``Column`` tersely: ``ref`` is ``"table.column"``, ``allowed`` may be a ``StrEnum``."""
    allowed_values: tuple[str, ...] | None
    if allowed is None:
        allowed_values = None
    elif isinstance(allowed, tuple):
        allowed_values = allowed
    else:
        allowed_values = tuple(m.value for m in allowed)
    references = None
    if ref is not None:
        table, _, column = ref.partition(".")
        references = (table, column)
    if role is Role.MONEY and min_value is None:
        min_value = 0
    return Column(
        name=name,
        dtype=dtype,
        zh=zh,
        en=en,
        required=required,
        allowed=allowed_values,
        references=references,
        role=role,
        min_value=min_value,
        max_value=max_value,
        pii=pii,
    )
