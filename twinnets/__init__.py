"""twinnets: why two networks trained on the same data end with different weights."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinnets")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
