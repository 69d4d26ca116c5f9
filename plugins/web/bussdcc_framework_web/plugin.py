"""Entry point of the web plugin: the hook implementations bussdcc-framework calls.

This module is imported by plugin discovery for every ``bussdcc`` command, so it imports
neither Flask nor Flask-SocketIO (about 200 ms): the interface module is imported only when a
runtime actually asks for a web interface. Settings live in ``config.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bussdcc.process import ProcessProtocol

from bussdcc_framework import hookimpl
from bussdcc_framework.settings import Setting, Settings

from .config import SETTINGS, is_enabled


@hookimpl
def register_settings() -> Iterable[Setting]:
    return SETTINGS


@hookimpl
def register_processes(settings: Settings) -> Iterable[ProcessProtocol] | None:
    if not is_enabled(settings):
        return None
    from .interface import WebInterface

    return [WebInterface.from_settings(settings)]
