"""The installed version of bussdcc-framework, read from its distribution metadata."""

from importlib.metadata import PackageNotFoundError, version

PACKAGE_NAME = "bussdcc-framework"


def get_version() -> str:
    """Return the installed version, or 0.0.0 when running from an uninstalled tree."""
    try:
        return version(PACKAGE_NAME)
    except PackageNotFoundError:
        return "0.0.0"


__version__ = get_version()
