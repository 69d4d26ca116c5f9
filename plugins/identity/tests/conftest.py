"""Fake filesystem roots (a Raspberry Pi, a PC with DMI, a bare container) as a fixture.

Tests use the ``roots`` fixture: ``roots.pi(path)``, ``roots.pc(path)``, ``roots.container(path)``,
``roots.write(root, relative, content)`` and the constants ``roots.PI_SERIAL``/``MACHINE_ID``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

PI_SERIAL = "10000000a3b4c5d6"
MACHINE_ID = "4f1c2e8a9b7d4c3e8f6a5b4c3d2e1f00"

PI_CPUINFO = """processor\t: 0
model name\t: ARMv7 Processor rev 3 (v7l)
BogoMIPS\t: 108.00
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer\t: 0x41

Hardware\t: BCM2835
Revision\t: d03114
Serial\t\t: 10000000a3b4c5d6
Model\t\t: Raspberry Pi 4 Model B Rev 1.5
"""

PC_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i7-1165G7 @ 2.80GHz
"""

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
UBUNTU = (
    'NAME="Ubuntu"\nVERSION="24.04.1 LTS (Noble Numbat)"\nID=ubuntu\n'
    'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nVERSION_ID="24.04"\n'
)


def write(root: Path, relative: str, content: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def pi(root: Path) -> Path:
    write(root, "proc/device-tree/model", b"Raspberry Pi 4 Model B Rev 1.5\x00")
    write(root, "proc/cpuinfo", PI_CPUINFO)
    write(root, "etc/machine-id", MACHINE_ID + "\n")
    write(root, "etc/os-release", DEBIAN)
    write(root, "proc/sys/kernel/hostname", "greenhouse-pi\n")
    write(root, "etc/hostname", "stale-name\n")
    write(root, "proc/sys/kernel/osrelease", "6.6.31+rpt-rpi-v8\n")
    write(root, "proc/sys/kernel/arch", "aarch64\n")
    return root


def pc(root: Path) -> Path:
    write(root, "sys/class/dmi/id/product_name", "XPS 13 9310\n")
    write(root, "sys/class/dmi/id/sys_vendor", "Dell Inc.\n")
    write(root, "proc/cpuinfo", PC_CPUINFO)
    write(root, "etc/machine-id", MACHINE_ID + "\n")
    write(root, "usr/lib/os-release", UBUNTU)
    write(root, "etc/hostname", "workstation\n")
    write(root, "proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
    write(root, "proc/sys/kernel/arch", "x86_64\n")
    return root


def container(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def roots() -> ModuleType:
    """This module: the fake-root builders and their constants."""
    return sys.modules[__name__]
