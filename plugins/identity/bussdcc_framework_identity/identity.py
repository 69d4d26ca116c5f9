"""Building a ``SystemIdentityEvent``: probe the machine, add versions, withhold hidden fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bussdcc.version import get_version as kernel_version

from bussdcc_framework.message.system import SystemIdentityEvent
from bussdcc_framework.version import get_version as framework_version

from . import probe
from .config import HIDEABLE as HIDEABLE  # re-exported: its old home
from .config import parse_hide


def software_versions(plugins: Any = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel, the framework and each loaded plugin distribution, by distribution name.

    ``plugins`` is a plugin manager with ``loaded()`` records (the runtime's, when it was
    composed from plugins); ``None`` means the process-wide ``load_plugins()``.
    """
    versions = {"bussdcc": kernel_version(), "bussdcc-framework": framework_version()}
    try:
        if plugins is None:
            from bussdcc_framework.plugins import load_plugins

            plugins = load_plugins()
        for record in plugins.loaded():
            if record.dist and record.version:
                versions[record.dist] = record.version
    except Exception:
        pass
    if extra:
        versions.update({k: v for k, v in extra.items() if isinstance(v, str)})
    return versions


def discover(
    root: str | Path = "/",
    hide: Iterable[str] = (),
    *,
    plugins: Any = None,
    extra_versions: Mapping[str, str] | None = None,
) -> SystemIdentityEvent:
    """What this machine is, as the identity service emits it; never raises on bad files.

    The serial is the CPU serial from ``/proc/cpuinfo`` or, lacking one, the machine id. When
    ``machine_id`` is hidden and the serial *is* the machine id, the serial is hidden too, so
    hiding one never leaks it through the other.
    """
    base = Path(root)
    hidden = parse_hide(hide)
    release = probe.os_release(base)
    mid = probe.machine_id(base)
    cpu = probe.cpu_serial(base)
    serial = cpu if cpu is not None else mid
    if "machine_id" in hidden and cpu is None and serial is not None and "serial" not in hidden:
        hidden = (*hidden, "serial")
    values: dict[str, Any] = {
        "hostname": probe.hostname(base),
        "model": probe.model(base),
        "serial": serial,
        "machine_id": mid,
        "os": probe.os_name(release),
        "os_release": probe.os_version(release),
        "kernel": probe.kernel(base),
        "arch": probe.arch(base),
        "python": probe.python_version(),
        "versions": software_versions(plugins, extra_versions),
    }
    blank: dict[str, Any] = {"versions": {}}
    for name in hidden:
        values[name] = blank.get(name)
    return SystemIdentityEvent(**values, hidden=hidden)
