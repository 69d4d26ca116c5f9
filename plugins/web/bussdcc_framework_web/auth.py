"""Access control: the token, the Host header and the Origin header.

* With a token, every page, API call and Socket.IO connect must present it: API calls as
  ``Authorization: Bearer <token>``, Socket.IO in its ``auth`` payload, pages as a bearer
  header or ``?token=`` (a browser cannot add headers to a navigation; the page moves the token
  into ``sessionStorage`` and strips it from the address bar). A page request without it gets a
  small gate page that re-sends the stored token or asks for one. ``/api/health`` and the
  static files (code, not data) are public.
* Without a token the server only ever binds loopback, and then only loopback ``Host`` names
  are accepted: a web page cannot reach it through DNS rebinding.
* Requests that change something (``POST``) carrying a foreign ``Origin`` are refused, on top
  of the JSON content type they need; Socket.IO checks origins through Engine.IO.
"""

from __future__ import annotations

import hmac
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request

from .config import WebConfig, is_loopback

PUBLIC_ENDPOINTS = frozenset({"bussdcc_web_api.health", "bussdcc_web.static", "static"})


def token_matches(expected: str | None, given: Any) -> bool:
    if expected is None:
        return True
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def host_allowed(config: WebConfig, host_header: str | None) -> bool:
    """Without a token only loopback Host names are served (DNS rebinding protection)."""
    if config.token is not None:
        return True
    if not host_header:
        return False
    host = urlsplit(f"//{host_header}").hostname or ""
    return is_loopback(host)


def origin_allowed(config: WebConfig, origin: str | None, scheme: str, host: str | None) -> bool:
    """Same-origin, or one of ``web.origins``; a request without ``Origin`` is not a browser's."""
    if origin is None:
        return True
    normalized = origin.rstrip("/").lower()
    if host and normalized == f"{scheme}://{host}".lower():
        return True
    return normalized in config.normalized_origins()


def socketio_origin_check(config: WebConfig) -> Any:
    """An Engine.IO ``cors_allowed_origins`` callable: same-origin plus ``web.origins``."""

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        return origin_allowed(
            config, origin, environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST")
        )

    return check


def _refuse(status: int, error: str, detail: str, page: bool) -> Response:
    if page:
        html = render_template("bussdcc_web/gate.html", error=detail, status=status)
        response = Response(html, status=status, mimetype="text/html")
    else:
        response = jsonify({"error": error, "detail": detail})
        response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="bussdcc"'
    return response


def install(app: Flask, config: WebConfig) -> None:
    """Check every request before its view runs, and add security headers to every response.

    The checks are module functions rather than closures so that mutation testing (which
    leaves decorated and nested functions alone) reaches them; see docs/testing.md.
    """
    app.before_request(partial(guard, config))
    app.after_request(security_headers)


def guard(config: WebConfig) -> Response | None:
    """The request's Host, Origin and token checks: a refusal, or ``None`` to let it through."""
    is_api = request.path.startswith("/api/") or request.path == "/api"
    page = not is_api and request.method == "GET" and request.accept_mimetypes.accept_html
    if not host_allowed(config, request.host):
        return _refuse(
            403,
            "host_not_allowed",
            f"Host {request.host!r} is not a loopback name; set web.token to serve other names",
            page,
        )
    if request.method not in ("GET", "HEAD", "OPTIONS") and not origin_allowed(
        config, request.headers.get("Origin"), request.scheme, request.host
    ):
        return _refuse(
            403,
            "origin_not_allowed",
            f"Origin {request.headers.get('Origin')!r} may not change this system; add it to web.origins",
            page,
        )
    if config.token is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    given = bearer(request.headers.get("Authorization"))
    if given is None and not is_api:
        given = request.args.get("token")
    if token_matches(config.token, given):
        return None
    reason = "access token required" if given is None else "access token is wrong"
    return _refuse(401, "unauthorized", f"{reason}: send Authorization: Bearer <token>", page)


def security_headers(response: Response) -> Response:
    """Headers every response gets; the page's content policy; no caching of token requests."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html" and request.blueprint == "bussdcc_web":
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'self'",
        )
    if request.args.get("token") is not None or request.headers.get("Authorization"):
        headers.setdefault("Cache-Control", "no-store")
    return response
