"""The JavaScript libraries fetched at build time (see ``hatch_build.py``): check they are there."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
VENDOR_FILES = ("socket.io.min.js", "uPlot.iife.min.js", "uPlot.min.css")


class WebAssetsMissing(RuntimeError):
    """The package was built without its JavaScript libraries."""


def missing_assets() -> list[str]:
    return [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]


def check_assets() -> None:
    """Raise ``WebAssetsMissing`` naming the files and how to get them."""
    missing = missing_assets()
    if missing:
        raise WebAssetsMissing(
            f"the web interface's JavaScript libraries are missing ({', '.join(missing)} in "
            f"{VENDOR}); they are fetched from the npm registry when bussdcc-framework-web is "
            "built: reinstall it (pip install --force-reinstall bussdcc-framework-web), or in a "
            "source checkout run `python plugins/web/hatch_build.py`"
        )
