"""Reading what a machine is from its filesystem, under a configurable root.

Every reader returns ``None`` when its source is missing, unreadable, empty or garbage; none
raises. All paths are taken under ``root`` so tests (and tools inspecting a mounted image) can
point at a fake tree. Only when ``root`` is the real ``/`` do readers fall back to what the
running process itself knows (``uname``, ``gethostname``): under a fake root those would
describe the wrong machine.
"""

from __future__ import annotations

import os
import platform
import shlex
import socket
from pathlib import Path

#: The most we read from any one file: identity files are tiny; a huge one is not what we want.
MAX_READ = 64 * 1024

#: Values firmware vendors leave in DMI fields when nobody filled them in.
DMI_PLACEHOLDERS = frozenset(
    {
        "",
        "to be filled by o.e.m.",
        "to be filled by oem",
        "system product name",
        "system manufacturer",
        "default string",
        "not applicable",
        "not specified",
        "none",
        "n/a",
        "na",
        "oem",
        "o.e.m.",
        "undefined",
        "unknown",
        "0",
        "123456789",
        "type1productname",
        "type1family",
    }
)


def is_real_root(root: Path) -> bool:
    """Whether ``root`` is this machine's own ``/``."""
    try:
        return root.resolve() == Path("/").resolve()
    except OSError:
        return False


def read_text(root: Path, relative: str) -> str | None:
    """A file under ``root``, stripped of whitespace and device-tree NULs; None if unusable."""
    path = root / relative.lstrip("/")
    try:
        # O_NONBLOCK: a FIFO or device where a file was expected must not hang the service.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        while size < MAX_READ:  # /proc files may come back a page at a time
            chunk = os.read(fd, MAX_READ - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:  # a directory (EISDIR), an empty FIFO (EAGAIN), an I/O error
        return None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    text = raw.replace(b"\x00", b"").decode("utf-8", "replace").strip()
    if not text or "\ufffd" in text:
        return None
    return text


def hostname(root: Path) -> str | None:
    """The live hostname (``/proc/sys/kernel/hostname``), else ``/etc/hostname``."""
    for relative in ("proc/sys/kernel/hostname", "etc/hostname"):
        value = read_text(root, relative)
        if value:
            return value.splitlines()[0].strip() or None
    if is_real_root(root):
        try:
            return socket.gethostname() or None
        except OSError:
            return None
    return None


def model(root: Path) -> str | None:
    """Hardware model: the device tree (Raspberry Pi and other boards), else DMI (PCs, VMs)."""
    for relative in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        value = read_text(root, relative)
        if value:
            return value
    product = _dmi(root, "product_name")
    if product is None:
        return None
    vendor = _dmi(root, "sys_vendor")
    if vendor and not product.lower().startswith(vendor.lower()):
        return f"{vendor} {product}"
    return product


def _dmi(root: Path, name: str) -> str | None:
    value = read_text(root, f"sys/class/dmi/id/{name}")
    if value is None or value.strip().lower() in DMI_PLACEHOLDERS:
        return None
    return value


def cpu_serial(root: Path) -> str | None:
    """The ``Serial`` line of ``/proc/cpuinfo`` (Raspberry Pi), unless it is all zeros."""
    text = read_text(root, "proc/cpuinfo")
    if text is None:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "serial":
            value = value.strip()
            if value and value.strip("0"):
                return value
    return None


def machine_id(root: Path) -> str | None:
    """``/etc/machine-id`` (systemd), else the D-Bus copy; None for the uninitialised value."""
    for relative in ("etc/machine-id", "var/lib/dbus/machine-id"):
        value = read_text(root, relative)
        if value and value != "uninitialized" and value.strip("0"):
            return value
    return None


def os_release(root: Path) -> dict[str, str]:
    """The fields of ``/etc/os-release`` (else ``/usr/lib/os-release``); empty when absent."""
    for relative in ("etc/os-release", "usr/lib/os-release"):
        text = read_text(root, relative)
        if text is None:
            continue
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.strip().partition("=")
            if not sep or not key or key.startswith("#"):
                continue
            try:
                parts = shlex.split(value)
            except ValueError:
                continue
            fields[key.strip()] = " ".join(parts)
        if fields:
            return fields
    return {}


def os_name(release: dict[str, str]) -> str | None:
    """``PRETTY_NAME`` (e.g. ``Debian GNU/Linux 12 (bookworm)``), else ``NAME VERSION``."""
    pretty = release.get("PRETTY_NAME")
    if pretty:
        return pretty
    name = release.get("NAME")
    if not name:
        return None
    version = release.get("VERSION")
    return f"{name} {version}" if version else name


def os_version(release: dict[str, str]) -> str | None:
    """``VERSION_ID`` (``12``, ``24.04``), else ``BUILD_ID`` (rolling distributions)."""
    return release.get("VERSION_ID") or release.get("BUILD_ID") or None


def kernel(root: Path) -> str | None:
    """The running kernel's release (``/proc/sys/kernel/osrelease``), e.g. ``6.6.31+rpt-rpi-v8``."""
    value = read_text(root, "proc/sys/kernel/osrelease")
    if value is None and is_real_root(root):
        value = platform.release() or None
    return value


def arch(root: Path) -> str | None:
    """Machine architecture (``/proc/sys/kernel/arch``, Linux 5.x+), e.g. ``aarch64``."""
    value = read_text(root, "proc/sys/kernel/arch")
    if value is None and is_real_root(root):
        value = platform.machine() or (os.uname().machine if hasattr(os, "uname") else None)
    return value or None


def python_version() -> str:
    """This interpreter's version, e.g. ``3.11.9``."""
    return platform.python_version()
