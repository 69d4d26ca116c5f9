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


# -- the guard: what counts as the API, a page, a change -------------------------------------


def test_the_api_root_never_takes_the_token_from_the_url(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    refused = client.get(f"/api?token={TOKEN}", headers={"Accept": "text/html"})
    assert refused.status_code == 401  # "/api" itself is API: no ?token=, and a JSON answer
    assert refused.get_json()["detail"].startswith("access token required")
    assert client.get("/api", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_an_api_call_that_accepts_html_is_still_refused_in_json(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    refused = client.get("/api/state", headers={"Accept": "text/html"})
    assert refused.status_code == 401 and refused.mimetype == "application/json"


def test_only_a_get_of_a_page_gets_the_gate_page(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    posted = client.post("/", headers={"Accept": "text/html"})
    assert posted.status_code == 401 and posted.mimetype == "application/json"
    assert client.get("/", headers={"Accept": "text/html"}).mimetype == "text/html"


def test_a_page_takes_the_token_from_the_bearer_header_too(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    page = client.get("/", headers={"Accept": "text/html", "Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200 and b"Access token needed" not in page.data


def test_a_wrong_token_is_named_as_wrong(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    refused = client.get("/api/state", headers={"Authorization": "Bearer wrong-token"})
    assert refused.get_json() == {
        "error": "unauthorized",
        "detail": "access token is wrong: send Authorization: Bearer <token>",
    }
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="bussdcc"'


def test_a_non_ascii_token_is_refused_not_an_error(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    page = client.get("/?token=t%C3%B6ken-%E2%9C%93", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b"Access token needed" in page.data


def test_the_apps_own_static_files_are_public(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    assert client.get("/static/css/app.css").status_code == 200  # the Flask app's "static"
    assert client.get("/api/state").status_code == 401


def test_reading_with_a_foreign_origin_is_allowed_changing_is_not(types: SimpleNamespace) -> None:
    client = built(types)  # no token; the Origin check guards changes only
    foreign = {"Origin": "http://evil.example"}
    assert client.get("/api/health", headers=foreign).status_code == 200
    assert client.head("/api/health", headers=foreign).status_code == 200
    assert client.options("/api/emit", headers=foreign).status_code == 200
    refused = client.post("/api/emit", json={"type": "Ping", "data": {"count": 1}}, headers=foreign)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "origin_not_allowed",
        "detail": "Origin 'http://evil.example' may not change this system; add it to web.origins",
    }


# -- the headers every response gets ----------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def hardening(response: Any) -> dict[str, str | None]:
    return {
        name: response.headers.get(name)
        for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")
    }


HARDENED = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def test_every_response_is_hardened_and_pages_get_the_content_policy(types: SimpleNamespace) -> None:
    client = built(types)
    page = client.get("/")
    api = client.get("/api/types")
    assert page.status_code == 200 and api.status_code == 200
    refused = client.get("/api/state", headers={"Host": "evil.example"})
    for response in (page, api, refused):
        assert hardening(response) == HARDENED
    assert page.headers["Content-Security-Policy"] == CSP
    assert "Content-Security-Policy" not in api.headers  # JSON is not rendered


def test_the_applications_own_pages_keep_their_own_content_policy(types: SimpleNamespace) -> None:
    class MyWeb(WebInterface):
        def register_routes(self, app: Any, ctx: Any) -> None:
            @app.route("/mine")
            def mine() -> str:
                return "<p onclick='go()'>an inline script the framework's policy would block</p>"

    runtime = KernelRuntime()
    client = MyWeb(message_types=[types.Ping]).create_app(runtime.ctx).test_client()
    mine = client.get("/mine")
    assert mine.status_code == 200 and mine.mimetype == "text/html"
    assert "Content-Security-Policy" not in mine.headers
    assert hardening(mine) == HARDENED


def test_responses_to_a_request_carrying_the_token_are_not_cached(types: SimpleNamespace) -> None:
    client = built(types, token=TOKEN)
    assert "Cache-Control" not in client.get("/api/health").headers
    by_url = client.get(f"/?token={TOKEN}", headers={"Accept": "text/html"})
    assert by_url.status_code == 200 and by_url.headers["Cache-Control"] == "no-store"
    by_header = client.get("/api/types", headers={"Authorization": f"Bearer {TOKEN}"})
    assert by_header.status_code == 200 and by_header.headers["Cache-Control"] == "no-store"
