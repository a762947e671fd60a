"""Registered models by name, version and alias: list, show, promote, load, predict and compare.

A version is named by a number (``3``, ``v3``) or an alias (``champion``, ``challenger``). Promotion moves
``champion`` to a version (default: the challenger); the old champion keeps its version number and loses only
the alias. Loading downloads the version's pyfunc model (for the embedded store: reads it in place).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from youshu.registry.publish import CHALLENGER, CHAMPION
from youshu.registry.store import RegistryError, RegistryStore, client, import_mlflow

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

__all__ = [
    "LoadedVersion",
    "compare_versions",
    "describe_model",
    "list_models",
    "load_version",
    "predict",
    "promote",
    "resolve_version",
]


def _registered(mc: MlflowClient, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return mc.get_registered_model(name)
    except MlflowException:
        known = sorted(m.name for m in mc.search_registered_models(max_results=1000))
        raise RegistryError(
            f"no registered model {name!r} in the registry; known: {', '.join(known) or 'none yet'} "
            "(register one with `youshu models train ... --register NAME`)"
        ) from None


def resolve_version(store: RegistryStore, name: str, ref: str = CHAMPION) -> str:
    """The version number ``ref`` names: a number (``3`` or ``v3``) or an alias.

    Raises
    ------
    RegistryError
        For an unknown model, version or alias (``no champion yet`` for a model without one).
    """
    mc = client(store)
    model = _registered(mc, name)
    aliases = dict(model.aliases or {})
    text = ref.strip()
    number = text[1:] if text[:1] in {"v", "V"} and text[1:].isdigit() else text
    if number.isdigit():
        versions = {str(v.version) for v in mc.search_model_versions(f"name = '{name}'")}
        if number not in versions:
            raise RegistryError(
                f"{name!r} has no version {number}; versions: {', '.join(sorted(versions, key=int))}"
            )
        return number
    if text not in aliases:
        if text == CHAMPION:
            raise RegistryError(
                f"{name!r} has no champion yet: promote a version with `youshu models promote {name}`"
            )
        raise RegistryError(
            f"{name!r} has no alias {text!r}; aliases: "
            f"{', '.join(f'{a}=v{v}' for a, v in sorted(aliases.items())) or 'none'}"
        )
    return str(aliases[text])


def promote(store: RegistryStore, name: str, ref: str = CHALLENGER) -> tuple[str | None, str]:
    """Make the version ``ref`` names the champion; it stops being the challenger.

    Returns
    -------
    (str or None, str)
        The previous champion's version (None if there was none) and the new one.
    """
    mc = client(store)
    model = _registered(mc, name)
    new = resolve_version(store, name, ref)
    aliases = dict(model.aliases or {})
    old = str(aliases[CHAMPION]) if CHAMPION in aliases else None
    mc.set_registered_model_alias(name, CHAMPION, new)
    if str(aliases.get(CHALLENGER)) == new:
        mc.delete_registered_model_alias(name, CHALLENGER)
    return old, new


def _card(mc: MlflowClient, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    with tempfile.TemporaryDirectory(prefix="youshu-card-") as tmp:
        try:
            path = mc.download_artifacts(run_id, "model_card.json", tmp)
        except Exception:  # a version registered by other means has no card
            return {}
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def list_models(store: RegistryStore) -> list[dict[str, Any]]:
    """One row per registered model: name, zh/en names, business area, versions, aliases, latest version."""
    mc = client(store)
    rows = []
    for model in sorted(mc.search_registered_models(max_results=1000), key=lambda m: m.name):
        versions = [int(v.version) for v in mc.search_model_versions(f"name = '{model.name}'")]
        tags = dict(model.tags or {})
        rows.append(
            {
                "name": model.name,
                "name_zh": tags.get("name_zh", ""),
                "name_en": tags.get("name_en", ""),
                "business_area": tags.get("business_area", ""),
                "use_case": tags.get("use_case", ""),
                "versions": len(versions),
                "latest": max(versions) if versions else None,
                "aliases": {a: int(v) for a, v in (model.aliases or {}).items()},
            }
        )
    return rows


def describe_model(store: RegistryStore, name: str) -> dict[str, Any]:
    """A registered model with every version (newest first): aliases, run, metrics and model card."""
    mc = client(store)
    model = _registered(mc, name)
    by_version: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        by_version.setdefault(str(version), []).append(alias)
    versions = []
    for v in sorted(mc.search_model_versions(f"name = '{name}'"), key=lambda v: -int(v.version)):
        run = mc.get_run(v.run_id) if v.run_id else None
        versions.append(
            {
                "version": int(v.version),
                "aliases": sorted(by_version.get(str(v.version), []), key=lambda a: (a != CHAMPION, a)),
                "run_id": v.run_id,
                "created_ms": v.creation_timestamp,
                "metrics": dict(run.data.metrics) if run else {},
                "tags": {
                    k: val for k, val in (run.data.tags if run else {}).items() if k.startswith("youshu.")
                },
                "card": _card(mc, v.run_id),
            }
        )
    return {
        "name": name,
        "tags": dict(model.tags or {}),
        "description": model.description,
        "versions": versions,
    }


@dataclass(frozen=True)
class LoadedVersion:
    """A registered version loaded for scoring.

    Attributes
    ----------
    name, version : str
    kind : str
        ``PropensityRanker``, ``RiskModel`` or ``AumRegressor``.
    pyfunc : mlflow.pyfunc.PyFuncModel
        The MLflow model (``predict(frame)``).
    youshu : object
        The youshu model inside it (``SavedModel``, ``RiskModel`` or ``AumRegressor``), for reasons and
        youshu-native scoring.
    folder : Path
        The youshu folder (local copy).
    """

    name: str
    version: str
    kind: str
    pyfunc: Any
    youshu: Any
    folder: Path

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def load_version(
    store: RegistryStore, name: str, ref: str = CHAMPION, *, dst: Path | None = None
) -> LoadedVersion:
    """Load the version ``ref`` names (an alias such as ``champion``, or a number).

    Parameters
    ----------
    dst : Path, optional
        Where to download a remote store's model (default: a temporary folder; the embedded store's model is
        read in place).
    """
    import_mlflow()
    import mlflow.artifacts
    import mlflow.pyfunc

    version = resolve_version(store, name, ref)
    mc = client(store)
    uri = mc.get_model_version_download_uri(name, version)
    target = None
    if not store.embedded:
        target = str(dst) if dst is not None else tempfile.mkdtemp(prefix="youshu-model-")
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=target, tracking_uri=store.uri)
    model = mlflow.pyfunc.load_model(local)
    inner = model.unwrap_python_model()
    return LoadedVersion(name, version, inner.kind, model, inner.model, inner.folder)


def predict(store: RegistryStore, name: str, frame: pd.DataFrame, ref: str = CHAMPION) -> pd.DataFrame:
    """Score a feature frame with the registered version ``ref`` names (row order kept).

    Returns
    -------
    pandas.DataFrame
        The id column (when the frame has it) and ``score`` (risk models: also model/rule scores, rules hit;
        the IVL value model: ``predicted_aum_fen`` instead of ``score``).
    """
    return load_version(store, name, ref).pyfunc.predict(frame)


def compare_versions(
    store: RegistryStore,
    name: str,
    frame: pd.DataFrame,
    y: Any,
    refs: Sequence[str] = (CHAMPION, CHALLENGER),
    *,
    split: Any = None,
) -> pd.DataFrame:
    """Re-score the same out-of-time rows with each version and compare them on the same labels.

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature rows of one out-of-time window.
    y : array-like
        Their 0/1 outcomes.
    refs : sequence of str
        Versions or aliases to compare.
    split : TimeSplit, optional
        Recorded in the result.

    Returns
    -------
    pandas.DataFrame
        ``youshu.models.evaluation.compare`` of the versions (``name`` = ``NAME vN (aliases)``), with a
        ``version`` column.
    """
    from youshu.models.evaluation import compare, evaluate

    reports, versions = [], []
    for ref in refs:
        loaded = load_version(store, name, ref)
        scores = loaded.pyfunc.predict(frame)["score"].to_numpy()
        label = f"{name} v{loaded.version} ({ref})" if not ref.isdigit() else f"{name} v{loaded.version}"
        reports.append(evaluate(y, scores, name=label, n_boot=0, split=split))
        versions.append(int(loaded.version))
    table = compare(reports)
    table.insert(1, "version", versions)
    return table
