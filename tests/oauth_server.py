"""A real OAuth2 authorization server for tests: stdlib `http.server` on 127.0.0.1, in a thread.

It speaks what the daemon meets at Google and Microsoft, over real HTTP, with nothing mocked:

- POST /devicecode: the device authorization grant (RFC 8628 §3.1);
- GET /authorize: the authorization code grant with PKCE S256 (RFC 6749 §4.1, RFC 7636); it
  approves at once as `authorize_as` and redirects (302) to the client's redirect_uri, standing
  in for the browser's consent page (`authorize_as = None` denies: error=access_denied);
- POST /token: device_code, authorization_code and refresh_token grants, errors per RFC 6749
  §5.2 (HTTP 400 JSON; 401 `invalid_client` when the client authenticated with HTTP Basic);
- POST /introspect: token introspection (RFC 7662), which the tests' Dovecot and SMTP server ask
  about every bearer token they are shown.

    with OAuthServer(access_ttl=3600, interval=0) as auth:
        codes = httpx.post(auth.device_url, data={"client_id": CLIENT_ID, "scope": "a b"}).json()
        auth.approve(codes["user_code"], "user1")     # as the person at the browser would
        tokens = auth.issue("user1")                  # or skip the login altogether
        auth.revoke("user1")                          # every token of user1 dies at once

`fail_token(error, status=...)` scripts /token failures (an outage, a 500);
`xoauth2_response` and `oauthbearer_response` build the SASL initial responses a mail client
sends with a token.

The client is `CLIENT_ID`, public unless `client_secret` is given (then token requests must
authenticate with it: client_secret_post or HTTP Basic). Refresh tokens rotate by default, as
Microsoft's do, and the old one stays valid until revoked; with `rotate=False` a refresh answer
carries no refresh_token, as Google's does. Tokens are random and never logged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import json
import secrets
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

HOST = "127.0.0.1"
CLIENT_ID = "mentormail-test"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes
_MAX_BODY = 64 * 1024


class OAuthError(Exception):
    """An error response of RFC 6749 §5.2: `error` (and a description) with an HTTP status."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class _Device:
    """A device authorization waiting for, or done with, the person at the browser."""

    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float  # time.monotonic()
    interval: float
    last_poll: float | None = None
    status: str = "pending"  # pending | approved | denied
    username: str | None = None


@dataclass(frozen=True)
class _Code:
    """An authorization code minted by /authorize, redeemable once."""

    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    username: str
    expires_at: float  # time.monotonic()


@dataclass(frozen=True)
class _Access:
    """A live access token."""

    username: str
    scopes: tuple[str, ...]
    client_id: str
    expires_at: float  # time.time(): introspection's `exp` is epoch seconds


@dataclass(frozen=True)
class _Refresh:
    """A live refresh token."""

    username: str
    scopes: tuple[str, ...]
    client_id: str


@dataclass(frozen=True)
class _Fault:
    """A scripted /token failure: `error` with HTTP `status`."""

    error: str
    status: int


@dataclass
class _State:
    """Everything the server knows; guarded by OAuthServer's lock."""

    devices: dict[str, _Device] = field(default_factory=dict)  # by device_code
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    faults: deque[_Fault] = field(default_factory=deque)


class OAuthServer:
    """The authorization server; see the module docstring. Use it as a context manager (or
    `start()`/`stop()`); every helper is thread-safe, called from the test while the server's
    threads answer HTTP."""

    def __init__(
        self,
        *,
        access_ttl: float = 3600,
        interval: float = 0,
        device_ttl: float = 600,
        client_secret: str | None = None,
        rotate: bool = True,
        authorize_as: str | None = "user@example.org",
        slow_down_step: float = 5,
    ) -> None:
        self.access_ttl = access_ttl
        self.interval = interval
        self.device_ttl = device_ttl
        self.client_id = CLIENT_ID
        self.client_secret = client_secret
        self.rotate = rotate
        self.authorize_as = authorize_as
        self.slow_down_step = slow_down_step  # RFC 8628 §3.5: +5 s after each slow_down
        self.refreshes = 0
        self.token_requests: list[str] = []
        self.introspections = 0
        self.url = ""
        self._lock = threading.Lock()
        self._state = _State()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # endpoints

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.url}/devicecode"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def introspect_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def verification_uri(self) -> str:
        return f"{self.url}/device"

    # life cycle

    def start(self) -> None:
        """Listen on 127.0.0.1 and a free port and answer requests in a thread."""
        httpd = _HTTPServer(self)
        self._httpd = httpd
        self.url = f"http://{HOST}:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="oauth-server"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end every open (keep-alive) connection, close the listening socket
        and join every thread."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.end_connections()
            self._httpd.server_close()  # joins the connections' threads
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "the OAuth test server did not stop"
            self._thread = None

    def __enter__(self) -> OAuthServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # test helpers

    def approve(self, user_code: str, username: str) -> None:
        """The person at the browser enters `user_code` and consents as `username`."""
        with self._lock:
            device = self._device_by_user_code(user_code)
            device.status, device.username = "approved", username

    def deny(self, user_code: str) -> None:
        """The person at the browser enters `user_code` and declines."""
        with self._lock:
            self._device_by_user_code(user_code).status = "denied"

    def pending_user_codes(self) -> list[str]:
        """User codes still waiting for the person at the browser (not expired)."""
        now = time.monotonic()
        with self._lock:
            return [
                d.user_code
                for d in self._state.devices.values()
                if d.status == "pending" and d.expires_at > now
            ]

    def issue(self, username: str, scopes: Iterable[str] = ("a", "b")) -> dict[str, Any]:
        """A token response for `username`, as if a login had just happened."""
        with self._lock:
            return self._mint(username, tuple(scopes), self.client_id, with_refresh=True)

    def revoke(self, username: str) -> None:
        """Every access and refresh token of `username` stops working at once."""
        with self._lock:
            state = self._state
            for tokens in (state.access, state.refresh):
                for token in [t for t, grant in tokens.items() if grant.username == username]:
                    del tokens[token]

    def expire_access(self, username: str) -> None:
        """Every access token of `username` dies now (before the time it said); refresh
        tokens keep working."""
        with self._lock:
            for token, grant in list(self._state.access.items()):
                if grant.username == username:
                    self._state.access[token] = dataclasses.replace(grant, expires_at=time.time())

    def fail_token(self, error: str, *, status: int = 400, times: int = 1) -> None:
        """Answer the next `times` /token requests with `error` (e.g. "temporarily_unavailable"
        with status 503, or "server_error" with 500), whatever they ask."""
        with self._lock:
            self._state.faults.extend([_Fault(error, status)] * times)

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662's answer about `token` (what POST /introspect returns)."""
        with self._lock:
            self.introspections += 1
            grant = self._state.access.get(token)
            if grant is None or grant.expires_at <= time.time():
                return {"active": False}
            return {
                "active": True,
                "username": grant.username,
                "sub": grant.username,
                "scope": " ".join(grant.scopes),
                "client_id": grant.client_id,
                "token_type": "Bearer",
                "exp": int(grant.expires_at),
            }

    # endpoint logic (called by the handler; each returns a JSON body or raises OAuthError)

    def device_authorization(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /devicecode: a new device_code and user_code (RFC 8628 §3.2)."""
        client_id = form.get("client_id", "")
        if client_id != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id", 401)
        scopes = tuple(form.get("scope", "").split())
        device_code = secrets.token_urlsafe(32)
        with self._lock:
            user_code = self._new_user_code()
            self._state.devices[device_code] = _Device(
                user_code=user_code,
                client_id=client_id,
                scopes=scopes,
                expires_at=time.monotonic() + self.device_ttl,
                interval=self.interval,
            )
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": f"{self.verification_uri}?user_code={user_code}",
            "expires_in": self.device_ttl,
            "interval": self.interval,
        }

    def authorize(self, query: dict[str, str]) -> str:
        """GET /authorize: the Location to redirect to (code and state, or an error).
        Raises OAuthError when there is no redirect_uri it may trust."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id")
        if not redirect_uri.startswith(("http://", "https://")):
            raise OAuthError("invalid_request", "redirect_uri must be an absolute http(s) URL")
        answer: dict[str, str] = {}
        if query.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
        elif not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            answer = {"error": "invalid_request", "error_description": "PKCE S256 is required"}
        elif self.authorize_as is None:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._state.codes[code] = _Code(
                    client_id=self.client_id,
                    redirect_uri=redirect_uri,
                    challenge=query["code_challenge"],
                    scopes=tuple(query.get("scope", "").split()),
                    username=self.authorize_as,
                    expires_at=time.monotonic() + 600,
                )
            answer["code"] = code
        if "state" in query:
            answer["state"] = query["state"]
        parts = urlsplit(redirect_uri)
        joined = "&".join(q for q in (parts.query, urlencode(answer)) if q)
        return urlunsplit(parts._replace(query=joined))

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """POST /token: a token response (RFC 6749 §5.1) or an OAuthError (§5.2)."""
        grant_type = form.get("grant_type", "")
        with self._lock:
            self.token_requests.append(grant_type)
            if self._state.faults:
                fault = self._state.faults.popleft()
                raise OAuthError(fault.error, "scripted failure", fault.status)
        client_id = self._authenticate_client(form, authorization)
        with self._lock:
            if grant_type == DEVICE_GRANT:
                return self._device_grant(form, client_id)
            if grant_type == "authorization_code":
                return self._code_grant(form, client_id)
            if grant_type == "refresh_token":
                return self._refresh_grant(form, client_id)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r}")

    # internals; the caller holds the lock unless said otherwise

    def _authenticate_client(self, form: dict[str, str], authorization: str | None) -> str:
        """The client_id, authenticated per this server's registration (lock not held)."""
        basic = authorization is not None and authorization.lower().startswith("basic ")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if basic:
            assert authorization is not None
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "bad Basic credentials", 401) from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = _unquote_form(basic_id), _unquote_form(basic_secret)
        status = 401 if basic else 400
        if client_id != self.client_id:
            raise OAuthError("invalid_client", "unknown client_id", status)
        if self.client_secret is not None and not (
            secret is not None and secrets.compare_digest(secret, self.client_secret)
        ):
            raise OAuthError("invalid_client", "client authentication failed", status)
        return client_id

    def _device_grant(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        device_code = form.get("device_code", "")
        device = self._state.devices.get(device_code)
        if device is None or device.client_id != client_id:
            raise OAuthError("invalid_grant", "unknown device_code")
        now = time.monotonic()
        if now >= device.expires_at:
            raise OAuthError("expired_token", "the device code has expired")
        too_soon = device.last_poll is not None and now - device.last_poll < device.interval
        device.last_poll = now
        if device.interval > 0 and too_soon:
            device.interval += self.slow_down_step
            raise OAuthError("slow_down", f"poll every {device.interval} s at most")
        if device.status == "denied":
            del self._state.devices[device_code]
            raise OAuthError("access_denied", "the user declined")
        if device.status == "pending" or device.username is None:
            raise OAuthError("authorization_pending", "waiting for the user")
        del self._state.devices[device_code]
        return self._mint(device.username, device.scopes, client_id, with_refresh=True)

    def _code_grant(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        code = self._state.codes.pop(form.get("code", ""), None)  # single use, even on error
        if code is None or code.client_id != client_id or code.expires_at <= time.monotonic():
            raise OAuthError("invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128:
            raise OAuthError("invalid_grant", "code_verifier must be 43 to 128 characters")
        if not secrets.compare_digest(pkce_challenge(verifier), code.challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the challenge")
        return self._mint(code.username, code.scopes, client_id, with_refresh=True)

    def _refresh_grant(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        grant = self._state.refresh.get(token)
        if grant is None or grant.client_id != client_id:
            raise OAuthError("invalid_grant", "unknown or revoked refresh token")
        scopes = grant.scopes
        if form.get("scope"):
            asked = tuple(form["scope"].split())
            if not set(asked) <= set(grant.scopes):
                raise OAuthError("invalid_scope", "more scope than was granted")
            scopes = asked
        self.refreshes += 1
        # without rotation the answer carries no refresh_token, as Google's does: the client
        # keeps the one it has
        return self._mint(grant.username, scopes, client_id, with_refresh=self.rotate)

    def _mint(
        self, username: str, scopes: tuple[str, ...], client_id: str, *, with_refresh: bool
    ) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        self._state.access[access] = _Access(
            username, scopes, client_id, time.time() + self.access_ttl
        )
        response: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "scope": " ".join(scopes),
        }
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self._state.refresh[refresh] = _Refresh(username, scopes, client_id)
            response["refresh_token"] = refresh
        return response

    def _new_user_code(self) -> str:
        taken = {d.user_code for d in self._state.devices.values()}
        for _ in range(100):
            letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
            code = f"{letters[:4]}-{letters[4:]}"
            if code not in taken:
                return code
        raise RuntimeError("no free user code")  # 20**8 codes: not in a test's lifetime

    def _device_by_user_code(self, user_code: str) -> _Device:
        wanted = _normalize_user_code(user_code)
        for device in self._state.devices.values():
            if _normalize_user_code(device.user_code) == wanted:
                return device
        raise KeyError(f"no device authorization with user code {user_code!r}")


def xoauth2_response(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial client response (Google's and Microsoft's format)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer_response(user: str, token: str, host: str = HOST, port: int = 0) -> str:
    """The SASL OAUTHBEARER initial client response (RFC 7628 §3.1): a GS2 header naming
    the user, then host, port and the bearer token."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def pkce_challenge(verifier: str) -> str:
    """The S256 code_challenge for `verifier` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _normalize_user_code(code: str) -> str:
    """User codes compare case-insensitively, ignoring dashes and spaces (RFC 8628 §6.1)."""
    return "".join(c for c in code.upper() if c in string.ascii_uppercase + string.digits)


def _unquote_form(value: str) -> str:
    """HTTP Basic client credentials are form-urlencoded first (RFC 6749 §2.3.1)."""
    return unquote_plus(value)


class _HTTPServer(ThreadingHTTPServer):
    """A thread per connection, each tracked so that `stop` can end idle keep-alive
    connections (Dovecot and httpx keep theirs open) and join the threads."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, oauth: OAuthServer) -> None:
        super().__init__((HOST, 0), _Handler)
        self.oauth = oauth
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def end_connections(self) -> None:
        """Shut every open connection down: its handler reads EOF and its thread ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the OAuthServer; quiet (no access log, no tokens anywhere)."""

    server_version = "mentormail-test-oauth/1"
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    @property
    def oauth(self) -> OAuthServer:
        return self.server.oauth

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's access log: URLs and forms may carry codes and tokens."""

    def do_GET(self) -> None:
        """GET /authorize (the consent page's stand-in) and GET /device (a placeholder)."""
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path == "/authorize":
            try:
                location = self.oauth.authorize(query)
            except OAuthError as error:
                self._send_json(error.status, _error_body(error))
                return
            self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})
        elif parts.path == "/device":
            page = b"<html><body>Enter the code shown by the device.</body></html>"
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not_found"})

    def do_POST(self) -> None:
        """POST /devicecode, /token and /introspect, all with form-encoded bodies."""
        path = urlsplit(self.path).path
        form = self._read_form()
        if form is None:
            self._send_json(400, {"error": "invalid_request", "error_description": "bad body"})
            return
        try:
            if path == "/devicecode":
                body = self.oauth.device_authorization(form)
            elif path == "/token":
                body = self.oauth.token(form, self.headers.get("Authorization"))
            elif path == "/introspect":
                body = self.oauth.introspect(form.get("token", ""))
            else:
                self._send_json(HTTPStatus.NOT_FOUND, {"error": "not_found"})
                return
        except OAuthError as error:
            headers = {}
            if error.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="mentormail-test"'
            self._send_json(error.status, _error_body(error), headers)
            return
        self._send_json(HTTPStatus.OK, body)

    def _read_form(self) -> dict[str, str] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if not 0 <= length <= _MAX_BODY:
            return None
        raw = self.rfile.read(length)
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return None

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        extra = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
        self._send(status, json.dumps(body).encode(), "application/json", extra)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        with contextlib.suppress(ConnectionError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)


def _error_body(error: OAuthError) -> dict[str, str]:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    return body
