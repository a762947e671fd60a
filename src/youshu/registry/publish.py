"""Logging a trained youshu model to MLflow and registering it as a new version with its model card.

One MLflow run per logged model in the ``youshu`` experiment holds the parameters, the out-of-time metrics,
tags (target, as-of date, definitions hash, data fingerprint hash) and artifacts: ``model_card.json``,
``model_card.md``, ``features.json``, ``data_fingerprint.json`` and ``charts/evaluation.html`` (plotly,
self-contained). The model itself is an MLflow LoggedModel in pyfunc format wrapping the youshu folder
(:mod:`youshu.registry.pyfunc`). :func:`register` makes it a version of a registered model: every new version
becomes ``challenger``; the first one is also ``champion``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from youshu import __version__
from youshu.registry.card import CardInfo, build_card, card_markdown
from youshu.registry.fingerprint import data_fingerprint, definitions_hash
from youshu.registry.store import RegistryError, RegistryStore, client, experiment_id, import_mlflow

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["CHALLENGER", "CHAMPION", "Logged", "log_model", "publish", "register"]

CHAMPION = "champion"
CHALLENGER = "challenger"
#: Tags copied from the card onto the registered model and each version (shown by `youshu models list`).
CARD_TAGS = ("name_zh", "name_en", "business_area", "use_case", "owner_team", "kind")


@dataclass(frozen=True)
class Logged:
    """A logged model: its run, its MLflow LoggedModel and the card written with it."""

    run_id: str
    model_id: str
    source: str
    card: dict[str, Any]


def _folder_facts(
    folder: Path, kind: str
) -> tuple[dict[str, Any], list[str], dict[str, Any], dict[str, Any]]:
    """(params, features, metrics, training facts) read from a saved youshu folder."""
    if kind == "RiskModel":
        classifier = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
        meta = json.loads((folder / "risk_model.json").read_text(encoding="utf-8"))
        params = dict(classifier.get("params", {}))
        features = list(classifier.get("features") or classifier.get("feature_names") or [])
        info = dict(meta.get("info", {}))
        return params, features, {}, {"entity": "account", **info}
    if kind == "AumRegressor":
        from youshu.models.ivl.value import META_FILE

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        training = {
            "target": f"{meta['target']} ({meta.get('unit', 'fen')}, {meta.get('horizon_days')} days ahead)",
            "as_of": meta.get("as_of"),
            "horizon_days": meta.get("horizon_days"),
            "entity": meta.get("entity", "customer"),
            **{k: v for k, v in (meta.get("notes") or {}).items() if not isinstance(v, dict | list)},
        }
        return dict(meta["params"]), list(meta["features"]), dict(meta.get("metrics") or {}), training
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    training = {
        "target": meta["target"],
        "as_of": meta["as_of"],
        "horizon_days": meta["horizon_days"],
        "segment": meta.get("segment"),
        "entity": meta.get("entity", "customer"),
        **{k: v for k, v in (meta.get("notes") or {}).items() if not isinstance(v, dict | list)},
    }
    return dict(meta["params"]), list(meta["features"]), dict(meta.get("metrics") or {}), training


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    }


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence one logger's warnings for the block."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _write_charts(charts: Mapping[str, go.Figure], path: Path) -> None:
    """Every figure in one self-contained HTML file (plotly.js embedded once, no network)."""
    parts = []
    for i, (title, figure) in enumerate(charts.items()):
        html = figure.to_html(full_html=False, include_plotlyjs=(i == 0))
        parts.append(f"<section><h2>{title}</h2>{html}</section>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>evaluation</title></head>"
        f"<body>{''.join(parts)}</body></html>",
        encoding="utf-8",
    )


def log_model(
    store: RegistryStore,
    folder: Path,
    info: CardInfo,
    *,
    registered_name: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    definitions: Iterable[Path] = (),
    warehouse: Path | None = None,
    as_of: date | None = None,
    evaluation: pd.DataFrame | None = None,
    charts: Mapping[str, go.Figure] | None = None,
) -> Logged:
    """Log a saved youshu model folder to MLflow as a pyfunc LoggedModel with its card and provenance.

    Parameters
    ----------
    store : RegistryStore
    folder : Path
        Written by ``youshu.models.store.save_model``, ``RiskModel.save`` or ``AumRegressor.save``.
    info : CardInfo
        Names, business area, use case, owner, intended use and limitations.
    registered_name : str, optional
        The registered model name it is meant for (recorded on the card).
    metrics : mapping, optional
        Out-of-time figures (default: those saved in the folder); numbers become MLflow metrics.
    params : mapping, optional
        Extra parameters (the folder's hyperparameters are always logged).
    definitions : iterable of Path
        Definition folders the model used (tags, IVL, risk rules): hashed into the card.
    warehouse : Path, optional
        The canonical tables: fingerprinted (file names, sizes, footer row counts) as of ``as_of``.
    as_of : date, optional
        The as-of date of the fingerprint (default: the model's own as-of date).
    evaluation : pandas.DataFrame, optional
        Out-of-time rows (``y``, ``score``, optionally ``gender``, ``age_band``) for the card's breakdown.
    charts : mapping of str to plotly Figure, optional
        Evaluation charts, written to ``charts/evaluation.html``.

    Returns
    -------
    Logged

    Raises
    ------
    YoushuError
        When the folder is not a youshu model, or the warehouse does not exist.
    """
    mlflow = import_mlflow()
    from mlflow.entities import Metric, Param

    from youshu.registry.pyfunc import ARTIFACT, folder_kind

    folder = Path(folder)
    kind = folder_kind(folder)
    folder_params, features, folder_metrics, training = _folder_facts(folder, kind)
    measured = dict(folder_metrics if metrics is None else metrics)
    day = as_of or (date.fromisoformat(str(training["as_of"])) if training.get("as_of") else date.today())
    fingerprint = data_fingerprint(warehouse, day) if warehouse is not None else {"as_of": day.isoformat()}
    defs_hash = definitions_hash(definitions)
    card = build_card(
        info,
        kind=kind,
        registered_name=registered_name,
        metrics=measured,
        features=features,
        definitions_hash=defs_hash,
        data_fingerprint=fingerprint,
        training=training,
        evaluation=evaluation,
        youshu_version=__version__,
    )
    all_params = {**{k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in folder_params.items()}}
    all_params.update(dict(params or {}))
    text_params = {k: str(v)[:6000] for k, v in all_params.items()}
    tags = {
        "youshu.kind": kind,
        "youshu.version": __version__,
        "youshu.definitions_hash": defs_hash,
        "youshu.data_fingerprint": str(fingerprint.get("hash", "")),
        "youshu.as_of": day.isoformat(),
        **{f"youshu.{k}": str(v) for k, v in training.items() if k in {"target", "segment", "horizon_days"}},
        **{f"youshu.card.{k}": str(card[k]) for k in CARD_TAGS if k != "kind"},
        **{f"youshu.metric.{k}": str(v) for k, v in measured.items() if isinstance(v, str)},
    }
    mc = client(store)
    exp = experiment_id(mc, store)
    run = mc.create_run(exp, run_name=registered_name or info.name_en, tags=tags)
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        mc.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in _numeric(measured).items()],
            params=[Param(k, v) for k, v in text_params.items()],
        )
        with tempfile.TemporaryDirectory(prefix="youshu-registry-") as tmp:
            staging = Path(tmp)
            (staging / "run").mkdir()
            (staging / "run" / "model_card.json").write_text(
                json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            (staging / "run" / "model_card.md").write_text(card_markdown(card), encoding="utf-8")
            (staging / "run" / "features.json").write_text(json.dumps(features), encoding="utf-8")
            (staging / "run" / "data_fingerprint.json").write_text(
                json.dumps(fingerprint, indent=1), encoding="utf-8"
            )
            if charts:
                _write_charts(charts, staging / "run" / "charts" / "evaluation.html")
            mc.log_artifacts(run_id, str(staging / "run"))
            entry = Path(__file__).with_name("_pyfunc_entry.py")
            with _quiet("mlflow.pyfunc"):
                # No signature on purpose: youshu's feature encoder checks the columns itself, and MLflow's
                # schema enforcement would drop the id column; MLflow logs a warning about it otherwise.
                mlflow.pyfunc.save_model(
                    str(staging / "model"),
                    python_model=str(entry),
                    artifacts={ARTIFACT: str(folder)},
                    pip_requirements=[f"youshu=={__version__}", f"mlflow=={mlflow.__version__}"],
                    metadata={"youshu_kind": kind, "youshu_version": __version__},
                )
            for extra in ("model_card.json", "model_card.md"):
                (staging / "model" / extra).write_bytes((staging / "run" / extra).read_bytes())
            logged = mc.create_logged_model(
                exp,
                name=registered_name or "model",
                source_run_id=run_id,
                params=text_params,
                tags={k: v for k, v in tags.items() if not k.startswith("youshu.metric.")},
                model_type=f"youshu.{kind}",
            )
            mc.log_model_artifacts(logged.model_id, str(staging / "model"))
            mc.finalize_logged_model(logged.model_id, "READY")
    except BaseException:
        mc.set_terminated(run_id, "FAILED")
        raise
    mc.set_terminated(run_id, "FINISHED")
    return Logged(run_id, logged.model_id, logged.artifact_location, card)


def register(store: RegistryStore, name: str, logged: Logged) -> tuple[str, list[str]]:
    """Register ``logged`` as a new version of ``name`` (created on first use).

    Every new version becomes ``challenger``; the first version of a name is also ``champion``.

    Returns
    -------
    (str, list of str)
        The new version number and its aliases.
    """
    import_mlflow()
    from mlflow.exceptions import MlflowException

    mc = client(store)
    card = logged.card
    card_tags = {k: str(card.get(k, "")) for k in CARD_TAGS}
    try:
        mc.get_registered_model(name)
        first = False
    except MlflowException:
        mc.create_registered_model(
            name, tags=card_tags, description=f"{card['name_zh']} {card['name_en']} ({card['business_area']})"
        )
        first = True
    try:
        version = mc.create_model_version(
            name,
            source=logged.source,
            run_id=logged.run_id,
            tags=card_tags,
            description=f"{card['name_zh']} {card['name_en']}",
            model_id=logged.model_id,
        )
    except MlflowException as exc:
        raise RegistryError(f"cannot register a version of {name!r}: {exc.message}") from None
    aliases = [CHAMPION, CHALLENGER] if first else [CHALLENGER]
    for alias in aliases:
        mc.set_registered_model_alias(name, alias, version.version)
    return str(version.version), aliases


def publish(
    store: RegistryStore, name: str, folder: Path, info: CardInfo, **kwargs: Any
) -> tuple[Logged, str]:
    """:func:`log_model` then :func:`register` under ``name``; returns the logged model and the version."""
    logged = log_model(store, folder, info, registered_name=name, **kwargs)
    version, _ = register(store, name, logged)
    return logged, version
