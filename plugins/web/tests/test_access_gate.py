"""The access checks' details: how the token is read, what a refusal looks like, Engine.IO's view.

Written against the mutants ``mutmut`` left alive in ``auth.py`` (see docs/testing.md): each
assertion below fails on one of them.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from bussdcc.message import Message
from bussdcc.runtime import Runtime as KernelRuntime
from bussdcc_framework_web import WebInterface
from bussdcc_framework_web.auth import bearer, host_allowed, socketio_origin_check

TOKEN = "gate-test-token-0123456789"


def built(types: SimpleNamespace, **options: Any) -> Any:
    runtime = KernelRuntime()
    web = WebInterface(message_types=[types.Ping], **options)
    runtime.processes.register(web)
    web.attach(runtime.ctx)
    app = web.create_app(runtime.ctx)
    runtime._sub = runtime.events.subscribe(Message, runtime._dispatch)
    return app.test_client()


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (f"Bearer {TOKEN}", TOKEN),
        (f"bearer {TOKEN}", TOKEN),  # the scheme is case-insensitive
        (f"Bearer  {TOKEN} ", TOKEN),  # blanks around the token
        (f"Basic {TOKEN}", None),  # another scheme is not a bearer token
        (TOKEN, None),  # no scheme at all
        ("Bearer", ""),
        ("", None),
        (None, None),
    ],
)
def test_bearer_reads_only_a_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


def test_an_api_call_needs_the_bearer_scheme(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    assert client.get("/api/types", headers={"Authorization": f"Bearer  {TOKEN}"}).status_code == 200
    assert client.get("/api/types", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def test_without_a_host_header_nothing_is_served_without_a_token() -> None:
    config = WebInterface().config
    assert not host_allowed(config, None)
    assert not host_allowed(config, "")
    assert host_allowed(config, "127.0.0.1:5000") and host_allowed(config, "localhost")
    assert host_allowed(WebInterface(token=TOKEN).config, None)  # a token replaces the Host check


def gate_error_hidden(page: str) -> bool:
    tag = re.search(r'<p class="gate-error" id="gate-error"[^>]*>', page)
    assert tag is not None, page
    return "hidden" in tag.group(0)


def test_a_page_without_the_token_gets_the_gate(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    missing = client.get("/", headers={"Accept": "text/html"})
    assert missing.status_code == 401
    assert missing.mimetype == "text/html"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="bussdcc"'
    assert gate_error_hidden(missing.get_data(as_text=True))  # nothing was wrong yet
    wrong = client.get("/", headers={"Accept": "text/html", "Authorization": "Bearer wrong-token"})
    assert wrong.status_code == 401
    assert not gate_error_hidden(wrong.get_data(as_text=True))  # "That token is not valid."


def test_a_refused_host_is_403_without_a_challenge(types: SimpleNamespace) -> None:
    client = built(types)  # no token: loopback Host names only
    api = client.get("/api/state", headers={"Host": "evil.example"})
    assert api.status_code == 403
    assert api.mimetype == "application/json"
    assert api.get_json() == {
        "error": "host_not_allowed",
        "detail": "Host 'evil.example' is not a loopback name; set web.token to serve other names",
    }
    assert "WWW-Authenticate" not in api.headers
    page = client.get("/", headers={"Host": "evil.example", "Accept": "text/html"})
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "WWW-Authenticate" not in page.headers


def test_an_api_call_without_the_token_is_challenged(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    refused = client.get("/api/state")
    assert refused.status_code == 401 and refused.mimetype == "application/json"
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="bussdcc"'
    assert refused.get_json() == {
        "error": "unauthorized",
        "detail": "access token required: send Authorization: Bearer <token>",
    }


@pytest.mark.parametrize(
    ("environ", "origin", "allowed"),
    [
        ({"wsgi.url_scheme": "https", "HTTP_HOST": "panel.local:8443"}, "https://panel.local:8443", True),
        ({"wsgi.url_scheme": "https", "HTTP_HOST": "panel.local:8443"}, "http://panel.local:8443", False),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": "panel.local:8080"}, "http://panel.local:8080", True),
        ({"HTTP_HOST": "panel.local:8080"}, "http://panel.local:8080", True),  # http unless said
        ({"HTTP_HOST": "panel.local:8080"}, "https://panel.local:8080", False),
        ({"wsgi.url_scheme": "http"}, "http://panel.local:8080", False),  # no Host: not same-origin
        ({"wsgi.url_scheme": "http"}, "http://other.example", True),  # listed in web.origins
        ({"wsgi.url_scheme": "http"}, None, True),  # no Origin: not a browser
    ],
)
def test_engineio_origin_check_uses_the_requests_scheme_and_host(
    environ: dict[str, str], origin: str | None, allowed: bool
) -> None:
    check = socketio_origin_check(WebInterface(origins=["http://other.example"]).config)
    assert check(origin, environ) is allowed
