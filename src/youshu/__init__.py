"""youshu (邮数): a data-modeling workbench for a postal savings bank."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("youshu")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
