"""youshu (邮数): a data-modeling workbench for a postal savings bank."""

import os
from importlib.metadata import PackageNotFoundError, version

# LightGBM's OpenMP threads spin while they wait by default. On a shared machine (other jobs, DuckDB's own
# threads) that spinning starves the busy thread: a 2-thread fit of the risk model took 75 s instead of 6 s
# at a load of 4. Sleeping waiters cost nothing measurable on an idle machine. Set before LightGBM loads
# its OpenMP runtime; an explicit setting of the user's wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("youshu")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
