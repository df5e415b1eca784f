"""The installed version, in a module of its own: any layer may read it without importing
the package's ``__init__`` (which imports the planner)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("quantum-planner")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.1.0"
