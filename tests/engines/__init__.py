"""Engine test suite: every test runs on DuckDB and, behind the ``spark`` marker, on Spark."""
