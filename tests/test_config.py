"""Project configuration: youshu.yaml is strict, YOUSHU_* variables override it, errors say where."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from youshu.config import load_settings
from youshu.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YOUSHU_ENGINE", "YOUSHU_WAREHOUSE", "YOUSHU_SPARK_MASTER"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(tmp_path)
    assert settings.engine == "duckdb"
    assert settings.resolve(settings.warehouse) == tmp_path / "data" / "warehouse"
    assert settings.synth.customers == 50_000


def test_the_repository_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YOUSHU_ENGINE", raising=False)
    settings = load_settings(Path(__file__).resolve().parents[1])
    assert settings.synth.end_date == date(2025, 12, 31)


def test_an_unknown_key_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "youshu.yaml").write_text("engine: duckdb\nwarehous: data/w\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"youshu\.yaml: warehous: Extra inputs are not permitted"):
        load_settings(tmp_path)


def test_a_bad_value_is_refused(tmp_path: Path) -> None:
    (tmp_path / "youshu.yaml").write_text("engine: oracle\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="engine"):
        load_settings(tmp_path)


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "youshu.yaml").write_text("engine: [duckdb\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(tmp_path)


def test_environment_variables_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "youshu.yaml").write_text("engine: duckdb\nspark: {master: 'local[2]'}\n", encoding="utf-8")
    monkeypatch.setenv("YOUSHU_ENGINE", "spark")
    monkeypatch.setenv("YOUSHU_SPARK_MASTER", "spark://cluster:7077")
    settings = load_settings(tmp_path)
    assert settings.engine == "spark"
    assert settings.spark.master == "spark://cluster:7077"
