"""Where the registry lives: an embedded store in the project folder (SQLite + artifact folder) or a server URI.

The default store is ``<project>/registry/mlflow.db`` (MLflow's tracking and model-registry tables) with
artifacts under ``<project>/registry/artifacts``, created on first use; nothing runs in the background. A
shared MLflow server is reached with ``registry_uri`` in youshu.yaml or ``--registry-uri``. This module, like
the rest of ``youshu.registry``, imports MLflow only inside functions so the CLI starts fast.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from youshu.errors import YoushuError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from youshu.config import Settings

__all__ = [
    "EXPERIMENT",
    "SERVE_ENV",
    "RegistryError",
    "RegistryStore",
    "client",
    "experiment_id",
    "resolve_store",
    "serve_command",
]

#: The MLflow experiment every youshu training run is logged to.
EXPERIMENT = "youshu"
REGISTRY_DIR = "registry"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
#: MLflow settings youshu applies unless the environment sets them: no usage telemetry leaves a bank's
#: machine, no progress bars or INFO lines in CLI output.
_MLFLOW_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}
#: Environment of ``youshu registry serve``: no background job runner (4 s and ~650 MB instead of 3-4 GB).
SERVE_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


class RegistryError(YoushuError):
    """A registered model, version or alias does not exist, or the registry cannot be reached."""


@dataclass(frozen=True)
class RegistryStore:
    """An MLflow tracking + registry URI and, for the embedded store, its artifact folder.

    Attributes
    ----------
    uri : str
        ``sqlite:///...`` for the embedded store, ``http(s)://...`` for a server.
    artifacts : Path or None
        The artifact folder of the embedded store (None: the server decides).
    """

    uri: str
    artifacts: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.artifacts is not None

    @classmethod
    def embedded_in(cls, project_dir: Path) -> RegistryStore:
        """The default store of a project folder: ``registry/mlflow.db`` and ``registry/artifacts``."""
        folder = Path(project_dir).absolute() / REGISTRY_DIR
        return cls(f"sqlite:///{folder / DB_FILE}", folder / ARTIFACTS_DIR)

    def describe(self) -> str:
        return f"{self.uri} (artifacts {self.artifacts})" if self.embedded else self.uri


def resolve_store(settings: Settings, uri: str | None = None) -> RegistryStore:
    """The store to use: ``uri`` (e.g. ``--registry-uri``), else ``settings.registry_uri``, else embedded.

    A ``sqlite:///`` URI given explicitly keeps its artifacts in an ``artifacts`` folder next to the database.
    """
    chosen = uri or settings.registry_uri
    if not chosen:
        return RegistryStore.embedded_in(settings.resolve(Path(".")))
    if chosen.startswith("sqlite:///"):
        db = Path(chosen.removeprefix("sqlite:///"))
        db = db if db.is_absolute() else settings.resolve(db).absolute()
        return RegistryStore(f"sqlite:///{db}", db.parent / ARTIFACTS_DIR)
    if chosen.startswith(("http://", "https://", "databricks")):
        return RegistryStore(chosen)
    raise RegistryError(
        f"registry URI {chosen!r} is not understood: give sqlite:///path/to/mlflow.db or the http(s):// "
        "address of an MLflow server (or leave it unset for the project's embedded store)"
    )


def import_mlflow() -> Any:
    """Import MLflow with youshu's environment defaults (telemetry off, quiet logs)."""
    for key, value in _MLFLOW_ENV.items():
        os.environ.setdefault(key, value)
    import mlflow

    return mlflow


def client(store: RegistryStore) -> MlflowClient:
    """An MLflow client on the store; the embedded store's folders are created on first use."""
    import_mlflow()
    from mlflow import MlflowClient

    if store.artifacts is not None:
        store.artifacts.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)


def experiment_id(mlflow_client: MlflowClient, store: RegistryStore) -> str:
    """The id of the ``youshu`` experiment, created (with the store's artifact folder) when missing."""
    found = mlflow_client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return str(found.experiment_id)
    location = store.artifacts.as_uri() if store.artifacts is not None else None
    return str(mlflow_client.create_experiment(EXPERIMENT, artifact_location=location))


def serve_command(store: RegistryStore, *, port: int = 5000, host: str = "127.0.0.1") -> list[str]:
    """The ``mlflow server`` command line that serves the store's UI on ``host:port`` (one lean worker).

    Raises
    ------
    RegistryError
        For a remote store (it has its own server) or a host other than 127.0.0.1/localhost.
    """
    if not store.embedded:
        raise RegistryError(f"the registry {store.uri} is a server already: open it in a browser")
    if host not in {"127.0.0.1", "localhost"}:
        raise RegistryError(f"youshu serves the registry on 127.0.0.1 only, not {host!r}")
    assert store.artifacts is not None
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        store.uri,
        "--default-artifact-root",
        store.artifacts.as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def format_command(command: list[str]) -> str:
    """A command line as a shell would show it."""
    return shlex.join(command)
