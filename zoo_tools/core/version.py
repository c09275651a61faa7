"""The installed zoo_tools version (``zoo --version``, ``zoo_tools.__version__``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zoo_tools")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.2.0"
