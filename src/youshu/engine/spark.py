"""The scale-out engine: PySpark through Ibis, one SparkSession per process (the only module importing pyspark)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from youshu.engine.base import Engine, rename_parts
from youshu.errors import EngineError
from youshu.schema.storage import PARQUET_COMPRESSION

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType

log = logging.getLogger(__name__)

APP_NAME = "youshu"
JAVA_HINT = "install a JRE 17, e.g. apt-get install openjdk-17-jre-headless"

#: Settings youshu relies on for the two engines to agree; a ``conf`` that contradicts them is refused.
#: Canonical timestamps are zone-less local (Asia/Shanghai) wall-clock times. With the session zone at UTC
#: (as Ibis's DuckDB backend also sets) no zone arithmetic ever happens: Spark's epoch seconds, dates
#: and hours of a timestamp match DuckDB's. A session zone of Asia/Shanghai would shift
#: ``epoch_seconds()`` by 8 hours on Spark only. ``TIMESTAMP_NTZ`` keeps casts and written Parquet
#: zone-less; ANSI mode turns silent wrong answers (overflow, bad casts) into errors.
FIXED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
}

#: Defaults a caller's ``conf`` may override.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # never INT96
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # Arrow for results handed to Python
    "spark.ui.showConsoleProgress": "false",  # no progress bars over the CLI's output
}

# Spark logs to stderr before setLogLevel can run; this log4j2 profile keeps the start quiet (the
# PythonGatewayServer logger must be named, else Spark announces a default level of its own). A failed
# task, job or write reaches Python as an exception with the message, so the JVM's copies of the trace
# are muted. To debug the JVM, pass your own spark.driver.extraJavaOptions: this profile is then not used.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
logger.writer.name = org.apache.spark.sql.execution.datasources.FileFormatWriter
logger.writer.level = fatal
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = fatal
"""

_lock = threading.Lock()
_session: SparkSession | None = None
_log4j_file: Path | None = None


def java_executable() -> Path | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        return candidate if candidate.exists() else None
    found = shutil.which("java")
    return Path(found) if found else None


def check_java() -> Path:
    """Return the ``java`` executable, or raise ``EngineError`` saying how to install one."""
    java = java_executable()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if os.environ.get("JAVA_HOME") else "PATH"
        raise EngineError(f"the Spark engine needs Java and none was found on {where}: {JAVA_HINT}")
    return java


def _check_conf(conf: Mapping[str, str]) -> dict[str, str]:
    merged = {**DEFAULT_CONF, **{str(k): str(v) for k, v in conf.items()}}
    for key, wanted in FIXED_CONF.items():
        given = merged.get(key)
        if given is not None and given.lower() != wanted.lower():
            raise EngineError(
                f"youshu runs Spark with {key}={wanted} so that both engines give the same answers; "
                f"remove {key}={given} from the Spark settings"
            )
        merged[key] = wanted
    return merged


def _is_running(session: SparkSession) -> bool:
    return getattr(session.sparkContext, "_jsc", None) is not None


def _log4j_options(conf: dict[str, str]) -> None:
    global _log4j_file
    if "spark.driver.extraJavaOptions" in conf:
        return  # the caller configures the driver JVM; leave logging to them
    if _log4j_file is None:
        fd, name = tempfile.mkstemp(prefix="youshu-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_LOG4J2)
        _log4j_file = Path(name)
    conf["spark.driver.extraJavaOptions"] = f"-Dlog4j.configurationFile={_log4j_file}"


def shared_session(master: str, conf: Mapping[str, str]) -> SparkSession:
    """The process's SparkSession, started on first use with ``master`` and ``conf``.

    Later calls reuse it: settings that can change at run time are applied per engine, the others
    (master, driver memory, ...) keep the values of the first start and a warning is logged.

    Raises
    ------
    EngineError
        When Java is missing or the session cannot start.
    """
    global _session
    with _lock:
        if _session is not None and _is_running(_session):
            running = _session.sparkContext.master
            if running != master:
                log.warning("reusing the running Spark session on %s (asked for %s)", running, master)
            return _session
        check_java()
        # Executors must run the same interpreter (and venv) as the driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        start_conf = dict(conf)
        _log4j_options(start_conf)
        builder = SparkSession.builder.master(master).appName(APP_NAME)
        for key, value in start_conf.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:
            raise EngineError(
                f"could not start Spark on {master} ({type(exc).__name__}: {exc}); Spark 4 needs Java 17 "
                f"or 21: {JAVA_HINT}"
            ) from exc
        session.sparkContext.setLogLevel("ERROR")
        _quiet_python_loggers()
        if _session is None:
            atexit.register(stop_spark)
        _session = session
        return session


def _quiet_python_loggers() -> None:
    # PySpark 4 logs every failed query again, with the JVM stack trace, as JSON on stderr before raising
    # the same error. They must be PySparkLogger instances (pyspark passes them extra keyword arguments).
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    # ... and warns with the same message when it fails while collecting results through Arrow.
    warnings.filterwarnings("ignore", message="toPandas attempted Arrow optimization", category=UserWarning)


def stop_spark() -> None:
    """Stop the process's SparkSession (every Spark engine becomes unusable); harmless when none runs."""
    global _session, _log4j_file
    with _lock:
        if _session is not None and _is_running(_session):
            _session.stop()
        _session = None
        if _log4j_file is not None:
            _log4j_file.unlink(missing_ok=True)
            _log4j_file = None


def _spark_type(arrow_type: pa.DataType) -> DataType:
    from pyspark.sql import types as T

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return T.StringType()
    if pa.types.is_int64(arrow_type):
        return T.LongType()
    if pa.types.is_int32(arrow_type):
        return T.IntegerType()
    if pa.types.is_float64(arrow_type):
        return T.DoubleType()
    if pa.types.is_boolean(arrow_type):
        return T.BooleanType()
    if pa.types.is_date32(arrow_type):
        return T.DateType()
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return T.TimestampNTZType()
    raise EngineError(f"no Spark type for Arrow type {arrow_type} in a canonical table")


def _spark_target(dtype: dt.DataType) -> DataType | None:
    """The Spark type a column of Ibis type ``dtype`` is written as (None: leave it as Spark made it)."""
    from ibis.backends.pyspark.datatypes import PySparkType
    from pyspark.sql import types as T

    if dtype.is_timestamp():
        return T.TimestampNTZType()
    try:
        return PySparkType.from_ibis(dtype)
    except ibis.common.exceptions.IbisTypeError:
        return None


class SparkEngine(Engine):
    """PySpark through Ibis, on the process's shared SparkSession.

    Each engine works in its own session view of the shared SparkContext (``newSession``): its temporary
    views and run-time settings are its own, and ``close`` drops them without stopping Spark.
    ``stop_spark`` stops Spark for the whole process (it also runs at exit).

    Parameters
    ----------
    master : str
        Spark master URL, ``local[*]`` for all cores of this machine.
    conf : mapping of str to str, optional
        Extra ``spark.*`` settings, e.g. ``{"spark.sql.shuffle.partitions": "1", "spark.driver.memory":
        "8g"}``. ``FIXED_CONF`` settings cannot be changed.

    Raises
    ------
    EngineError
        When Java is missing, Spark cannot start or ``conf`` contradicts ``FIXED_CONF``.

    Notes
    -----
    ``write_parquet`` renames files on the driver: on a cluster the destination must be a filesystem the
    driver and the executors share.
    """

    name = "spark"

    def __init__(self, *, master: str = "local[*]", conf: Mapping[str, str] | None = None) -> None:
        merged = _check_conf(conf or {})
        root = shared_session(master, merged)
        session = root.newSession()
        runtime: dict[str, str] = {}
        for key, value in merged.items():
            if session.conf.isModifiable(key):
                runtime[key] = value
            elif root.sparkContext.getConf().get(key) != value:
                log.warning("Spark setting %s=%s takes effect only when Spark starts; ignored", key, value)
        self._session = session
        super().__init__(ibis.pyspark.connect(session, **runtime))

    @property
    def session(self) -> SparkSession:
        """This engine's SparkSession (shares the SparkContext with every other Spark engine)."""
        return self._session

    def _read_parquet(self, files: list[Path]) -> ir.Table:
        folders = {f.parent for f in files}
        if len(files) == 1:
            return self.con.read_parquet(str(files[0]))
        if len(folders) == 1:
            return self.con.read_parquet(str(next(iter(folders)) / "*.parquet"))
        raise EngineError(f"the parts of one table must share a folder, got {sorted(map(str, folders))}")

    def _empty_table(self, schema: pa.Schema) -> ir.Table:
        from pyspark.sql import types as T

        struct = T.StructType([T.StructField(f.name, _spark_type(f.type), True) for f in schema])
        name = ibis.util.gen_name("youshu_empty")
        self._session.createDataFrame([], struct).createOrReplaceTempView(name)
        return self.con.table(name)

    def _write_parts(self, expr: ir.Table, folder: Path) -> None:
        from pyspark.sql import functions as F

        self.con._run_pre_execute_hooks(expr)  # registers the in-memory tables and UDFs expr uses
        df = self._session.sql(self.con.compile(expr))
        # Store the types Ibis promises (as execute/to_pyarrow return them, and as DuckDB writes them),
        # with every timestamp zone-less like the warehouse.
        columns = []
        for (name, dtype), field in zip(expr.schema().items(), df.schema.fields, strict=True):
            column = F.col(f"`{field.name}`")
            target = _spark_target(dtype)
            if target is not None and field.dataType != target:
                column = column.cast(target)
            columns.append(column.alias(name))
        staging = folder / "_spark"
        df.select(columns).write.option("compression", PARQUET_COMPRESSION).parquet(str(staging))
        rename_parts(sorted(staging.glob("part-*.parquet")), folder)
        shutil.rmtree(staging)

    def _close(self) -> None:
        if not _is_running(self._session):
            return
        for table in self._session.catalog.listTables():
            if table.isTemporary:
                self._session.catalog.dropTempView(table.name)
