"""The identity service in a runtime: emit at start, state, reload, refresh, settings, shim."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType

import pytest
from bussdcc.message import SystemReload
from bussdcc_framework_identity import SystemIdentityService, plugin

from bussdcc_framework.message.system import SystemIdentityEvent
from bussdcc_framework.runtime import Runtime
from bussdcc_framework.settings import Setting, SettingError, Settings
from bussdcc_framework.testing import MemorySink


def boot(service: SystemIdentityService) -> tuple[Runtime, MemorySink]:
    sink = MemorySink()
    rt = Runtime()
    rt.add_sink(sink)
    rt.add_service(service)
    rt.ctx.state.set("app.version", "2.3.4")
    rt.boot()
    return rt, sink


def identities(sink: MemorySink) -> list[SystemIdentityEvent]:
    return sink.of_type(SystemIdentityEvent)


def test_shim_import_is_the_plugin_class() -> None:
    from bussdcc_framework.service import SystemIdentityService as Shim

    assert Shim is SystemIdentityService


def test_emits_at_start_and_stores_in_state(tmp_path: Path, roots: ModuleType) -> None:
    rt, sink = boot(SystemIdentityService(roots.pi(tmp_path)))
    try:
        ident = sink.wait_for(SystemIdentityEvent)
        assert isinstance(ident, SystemIdentityEvent)
        assert ident.hostname == "greenhouse-pi" and ident.serial == roots.PI_SERIAL
        assert ident.versions["app"] == "2.3.4"
        assert rt.ctx.state.get("system.identity") == ident
    finally:
        rt.shutdown("test")


def test_reload_re_emits_with_the_new_hostname(tmp_path: Path, roots: ModuleType) -> None:
    root = roots.pi(tmp_path)
    rt, sink = boot(SystemIdentityService(root))
    try:
        sink.wait_for(SystemIdentityEvent)
        roots.write(root, "proc/sys/kernel/hostname", "renamed-pi\n")
        rt.ctx.emit(SystemReload())
        renamed = sink.wait_for(lambda m: isinstance(m, SystemIdentityEvent) and m.hostname == "renamed-pi")
        assert rt.ctx.state.get("system.identity") == renamed
        assert [i.hostname for i in identities(sink)] == ["greenhouse-pi", "renamed-pi"]
    finally:
        rt.shutdown("test")


def test_hidden_fields_never_reach_sinks_or_state(tmp_path: Path, roots: ModuleType) -> None:
    rt, sink = boot(SystemIdentityService(roots.pi(tmp_path), hide=["serial", "machine_id"]))
    try:
        ident = sink.wait_for(SystemIdentityEvent)
        assert isinstance(ident, SystemIdentityEvent)
        assert ident.serial is None and ident.machine_id is None
        stored = rt.ctx.state.get("system.identity")
        assert roots.PI_SERIAL not in repr(stored) and roots.MACHINE_ID not in repr(stored)
    finally:
        rt.shutdown("test")


def test_refresh_emits_only_on_change(tmp_path: Path, roots: ModuleType) -> None:
    root = roots.pi(tmp_path)
    rt, sink = boot(SystemIdentityService(root, refresh=0.05))
    try:
        sink.wait_for(SystemIdentityEvent)
        time.sleep(0.3)
        assert len(identities(sink)) == 1  # nothing changed: nothing emitted
        roots.write(root, "proc/device-tree/model", b"Raspberry Pi 5 Model B Rev 1.0\x00")
        sink.wait_for(
            lambda m: isinstance(m, SystemIdentityEvent) and m.model == "Raspberry Pi 5 Model B Rev 1.0"
        )
        assert len(identities(sink)) == 2
    finally:
        rt.shutdown("test")


def settings(**environ: str) -> Settings:
    declared: list[Setting] = list(plugin.register_settings())
    return Settings.from_declarations(declared, environ=environ)


def test_register_services_from_settings(tmp_path: Path) -> None:
    (service,) = plugin.register_services(
        settings(
            BUSSDCC_IDENTITY_ROOT=str(tmp_path),
            BUSSDCC_IDENTITY_HIDE="serial, machine-id",
            BUSSDCC_IDENTITY_REFRESH="10m",
        )
    )
    assert isinstance(service, SystemIdentityService)
    assert service.root == tmp_path and service.hide == ("serial", "machine_id")
    assert service.refresh == 600.0 == service.interval
    assert list(plugin.register_services(settings(BUSSDCC_IDENTITY_ENABLED="false"))) == []


def test_unknown_hidden_field_is_a_setting_error() -> None:
    with pytest.raises(SettingError, match="'serail' is not a field"):
        plugin.register_services(settings(BUSSDCC_IDENTITY_HIDE="serail"))
