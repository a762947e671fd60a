"""Canonical postal-bank schema: table specs, storage layout, validation and import."""

from youshu.schema.spec import Column, DType, Pii, Role, TableSpec
from youshu.schema.tables import TABLES, TABLES_BY_NAME, get_table

__all__ = ["TABLES", "TABLES_BY_NAME", "Column", "DType", "Pii", "Role", "TableSpec", "get_table"]
