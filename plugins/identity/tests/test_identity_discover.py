"""What the identity reads from a Raspberry Pi, a PC with DMI, a container, and broken files."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from types import ModuleType

import pytest
from bussdcc_framework_identity import HIDEABLE, discover


def test_raspberry_pi(tmp_path: Path, roots: ModuleType) -> None:
    ident = discover(roots.pi(tmp_path))
    assert ident.hostname == "greenhouse-pi"  # the live name, not the stale /etc/hostname
    assert ident.model == "Raspberry Pi 4 Model B Rev 1.5"  # device-tree NUL stripped
    assert ident.serial == roots.PI_SERIAL
    assert ident.machine_id == roots.MACHINE_ID
    assert ident.os == "Debian GNU/Linux 12 (bookworm)"
    assert ident.os_release == "12"
    assert ident.kernel == "6.6.31+rpt-rpi-v8"
    assert ident.arch == "aarch64"
    assert ident.python == platform.python_version()
    assert ident.versions["bussdcc"] and ident.versions["bussdcc-framework"]
    assert ident.hidden == ()


def test_pc_with_dmi(tmp_path: Path, roots: ModuleType) -> None:
    ident = discover(roots.pc(tmp_path))
    assert ident.hostname == "workstation"
    assert ident.model == "Dell Inc. XPS 13 9310"
    assert ident.serial == roots.MACHINE_ID  # no CPU serial on a PC: the machine id stands in
    assert ident.os == "Ubuntu 24.04.1 LTS" and ident.os_release == "24.04"
    assert (ident.kernel, ident.arch) == ("6.8.0-45-generic", "x86_64")


def test_dmi_placeholders_and_vendor_prefix(tmp_path: Path, roots: ModuleType) -> None:
    roots.write(tmp_path, "sys/class/dmi/id/product_name", "To Be Filled By O.E.M.\n")
    assert discover(tmp_path).model is None
    roots.write(tmp_path, "sys/class/dmi/id/product_name", "QEMU Standard PC (Q35 + ICH9, 2009)\n")
    roots.write(tmp_path, "sys/class/dmi/id/sys_vendor", "QEMU\n")
    assert discover(tmp_path).model == "QEMU Standard PC (Q35 + ICH9, 2009)"


def test_container_with_neither(tmp_path: Path, roots: ModuleType) -> None:
    ident = discover(roots.container(tmp_path / "empty"))
    assert ident.hostname is None
    assert (ident.model, ident.serial, ident.machine_id) == (None, None, None)
    assert (ident.os, ident.os_release, ident.kernel, ident.arch) == (None, None, None, None)
    assert ident.python == platform.python_version()


def test_missing_root_is_not_an_error(tmp_path: Path) -> None:
    assert discover(tmp_path / "does" / "not" / "exist").model is None


def test_unreadable_sources_are_none_never_an_exception(tmp_path: Path, roots: ModuleType) -> None:
    (tmp_path / "proc" / "device-tree" / "model").mkdir(parents=True)  # a directory
    roots.write(tmp_path, "sys/class/dmi/id/product_name", b"\xff\xfe\x00garbage")  # not UTF-8
    roots.write(tmp_path, "proc/cpuinfo", "Serial\t\t: 0000000000000000\n")  # all zeros
    roots.write(tmp_path, "etc/machine-id", "uninitialized\n")
    roots.write(tmp_path, "etc/os-release", 'PRETTY_NAME="unterminated\n')
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    os.mkfifo(tmp_path / "proc/sys/kernel/hostname")  # would block a plain open()
    roots.write(tmp_path, "etc/hostname", "")
    ident = discover(tmp_path)
    assert ident.model is None and ident.serial is None and ident.machine_id is None
    assert ident.os is None
    assert ident.hostname is None


def test_the_real_machine_does_not_raise() -> None:
    ident = discover("/")
    assert ident.hostname and ident.python and ident.arch


def test_hide_serial_and_machine_id(tmp_path: Path, roots: ModuleType) -> None:
    ident = discover(roots.pi(tmp_path), ["serial", "machine-id"])
    assert ident.serial is None and ident.machine_id is None
    assert ident.hidden == ("serial", "machine_id")
    assert roots.PI_SERIAL not in repr(ident) and roots.MACHINE_ID not in repr(ident)


def test_hiding_machine_id_also_hides_a_serial_that_is_the_machine_id(
    tmp_path: Path, roots: ModuleType
) -> None:
    ident = discover(roots.pc(tmp_path), ["machine_id"])
    assert ident.serial is None and ident.machine_id is None
    assert ident.hidden == ("machine_id", "serial")
    pi = discover(roots.pi(tmp_path / "pi"), ["machine_id"])
    assert pi.serial == roots.PI_SERIAL  # a real CPU serial stays unless asked


def test_hide_hostname_and_versions(tmp_path: Path, roots: ModuleType) -> None:
    ident = discover(roots.pi(tmp_path), ["hostname", "versions"])
    assert ident.hostname is None and ident.versions == {}


def test_hide_unknown_field_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="'serail' is not a field") as info:
        discover("/", ["serail"])
    assert "\n" not in str(info.value)
    assert set(HIDEABLE) >= {"serial", "machine_id", "hostname"}
