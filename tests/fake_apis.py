"""A local stand-in for ACLED's and UCDP's APIs and a CSV feed, for the refresh tests.

:class:`FakeApi` is an HTTP server on 127.0.0.1 (a free port) run in a thread; tests give it
routes, read the requests it got, and inject faults per route: a status, a delay longer than
the client's timeout, or a body cut off after N bytes while Content-Length promises more.
:func:`serve_acled` and :func:`serve_ucdp` install routes shaped like the real APIs
(OAuth token, paged JSON, ACLED's deleted endpoint; UCDP's ``Result`` / ``TotalPages``).
No test touches the internet.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    cut_at: int | None = None  # send only this many bytes of the body, then hang up
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int = 200, **kwargs: Any) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), **kwargs)


Route = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler sleeping past a client's timeout must not delay close


class FakeApi:
    """Routes by path; ``faults[path]`` (a list of Replies) are served first, one per request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.faults: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    form=dict(parse_qsl(raw.decode(), keep_blank_values=True)),
                )
                api.requests.append(request)
                queued = api.faults.get(parts.path)
                if queued:
                    reply = queued.pop(0)
                elif parts.path in api.routes:
                    reply = api.routes[parts.path](request)
                else:
                    reply = Reply(status=404, body=b'{"error": "not found"}')
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.cut_at is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    body = reply.body if reply.cut_at is None else reply.body[: reply.cut_at]
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                if reply.cut_at is not None:
                    self.close_connection = True

            do_GET = _handle
            do_POST = _handle

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, path: str, *replies: Reply) -> None:
        self.faults.setdefault(path, []).extend(replies)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- ACLED --------------------------------------------------------------------------------------
ACLED_EMAIL, ACLED_PASSWORD, ACLED_TOKEN = "analyst@example.org", "s3cret-Pa55word!", "tok-123"


def acled_event(
    number: int,
    *,
    country: str = "Iraq",
    date: str = "2024-01-10",
    fatalities: int = 1,
    timestamp: int = 1_705_000_000,
    prefix: str = "IRQ",
) -> dict[str, Any]:
    """One event as ACLED's API returns it (JSON values: strings and numbers)."""
    return {
        "event_id_cnty": f"{prefix}{number}",
        "event_date": date,
        "year": int(date[:4]),
        "time_precision": 1,
        "disorder_type": "Political violence",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": "Military Forces of Iraq (2022-)",
        "assoc_actor_1": "",
        "inter1": "State forces",
        "actor2": "Islamic State (Iraq)",
        "assoc_actor_2": "",
        "inter2": "Rebel group",
        "interaction": "State forces-Rebel group",
        "civilian_targeting": "",
        "iso": 368,
        "region": "Middle East",
        "country": country,
        "admin1": "Nineveh",
        "admin2": "Mosul",
        "admin3": "",
        "location": "Mosul",
        "latitude": "36.3350",
        "longitude": "43.1189",
        "geo_precision": 1,
        "source": "Shafaq News",
        "source_scale": "National",
        "notes": f'Event {number}: clashes, with "quotes", commas\nand a newline.',
        "fatalities": fatalities,
        "tags": "",
        "timestamp": timestamp,
    }


def serve_acled(
    api: FakeApi,
    events: list[dict[str, Any]],
    deleted: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Install ACLED-shaped routes; returns the live data (tests may change it between runs)."""
    data: dict[str, Any] = {"events": events, "deleted": list(deleted or [])}

    def token(request: Request) -> Reply:
        form = request.form
        if (form.get("grant_type"), form.get("client_id")) != ("password", "acled"):
            return json_reply({"error": "unsupported_grant_type"}, 400)
        if (form.get("username"), form.get("password")) != (ACLED_EMAIL, ACLED_PASSWORD):
            # A careless server might echo what it was sent; the client must not repeat it.
            return json_reply(
                {
                    "error": "invalid_grant",
                    "error_description": f"The user credentials were incorrect "
                    f"({form.get('username')}/{form.get('password')}).",
                },
                400,
            )
        return json_reply(
            {
                "token_type": "Bearer",
                "expires_in": 86400,
                "access_token": ACLED_TOKEN,
                "refresh_token": "refresh-456",
            }
        )

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {ACLED_TOKEN}"

    def paged(rows: list[dict[str, Any]], request: Request) -> Reply:
        limit = int(request.query.get("limit", 5000))
        page = int(request.query.get("page", 1))
        chunk = rows[(page - 1) * limit : page * limit]
        return json_reply(
            {
                "status": 200,
                "success": True,
                "last_update": 0,
                "count": len(chunk),
                "messages": [],
                "data": chunk,
                "filename": "acled",
            }
        )

    def read(request: Request) -> Reply:
        if not authorised(request):
            return json_reply({"status": 401, "success": False, "error": "Unauthorized"}, 401)
        countries = set(request.query.get("country", "").split("|"))
        start, end = request.query["event_date"].split("|")
        assert request.query.get("event_date_where") == "BETWEEN"
        rows = [
            e
            for e in data["events"]
            if e["country"] in countries and start <= e["event_date"] <= end
        ]
        rows.sort(key=lambda e: e["event_date"], reverse=True)  # ACLED: newest first
        return paged(rows, request)

    def deleted_read(request: Request) -> Reply:
        if not authorised(request):
            return json_reply({"status": 401, "success": False, "error": "Unauthorized"}, 401)
        since = int(request.query.get("deleted_timestamp", 0))
        assert request.query.get("deleted_timestamp_where") == ">="
        rows = [d for d in data["deleted"] if int(d["deleted_timestamp"]) >= since]
        return paged(rows, request)

    api.routes["/oauth/token"] = token
    api.routes["/api/acled/read"] = read
    api.routes["/api/deleted/read"] = deleted_read
    return data


# -- UCDP ---------------------------------------------------------------------------------------
UCDP_TOKEN = "ucdp-token-789"  # noqa: S105 - a fake for the fake server


def ucdp_event(number: int, *, country_id: int = 652, date: str = "2024-01-12") -> dict[str, Any]:
    """One event as UCDP's API returns it."""
    return {
        "id": number,
        "relid": f"SYR-2024-1-{number}",
        "year": int(date[:4]),
        "active_year": True,
        "code_status": "Clear",
        "type_of_violence": 1,
        "conflict_dset_id": "299",
        "conflict_new_id": 299,
        "conflict_name": "Syria: Government",
        "dyad_dset_id": "1000",
        "dyad_new_id": 1000,
        "dyad_name": "Government of Syria - HTS",
        "side_a_dset_id": "125",
        "side_a_new_id": 125,
        "side_a": "Government of Syria",
        "side_b_dset_id": "1157",
        "side_b_new_id": 1157,
        "side_b": "HTS",
        "number_of_sources": 2,
        "source_article": "SANA",
        "source_office": "SANA;SOHR",
        "source_date": f"{date}T00:00:00",
        "source_headline": f"Clashes near Homs ({number})",
        "source_original": "",
        "where_prec": 1,
        "where_coordinates": "Homs town",
        "where_description": "Outskirts of Homs",
        "adm_1": "Homs Governorate",
        "adm_2": "Homs district",
        "latitude": 34.7324,
        "longitude": 36.7137,
        "geom_wkt": "POINT (36.7137 34.7324)",
        "priogrid_gid": 178506,
        "country": "Syria",
        "country_id": country_id,
        "region": "Middle East",
        "event_clarity": 1,
        "date_prec": 1,
        "date_start": f"{date}T00:00:00",
        "date_end": f"{date}T00:00:00",
        "deaths_a": 1,
        "deaths_b": 2,
        "deaths_civilians": 0,
        "deaths_unknown": 0,
        "best": 3,
        "high": 4,
        "low": 3,
        "gwnoa": "652",
        "gwnob": None,
    }


def serve_ucdp(api: FakeApi, versions: dict[str, list[dict[str, Any]]]) -> None:
    """Install ``/api/gedevents/<version>`` routes; pages are zero-based as in UCDP's API."""

    def route_for(version: str) -> Route:
        def handle(request: Request) -> Reply:
            if request.headers.get("x-ucdp-access-token") != UCDP_TOKEN:
                return Reply(status=401, body=b"API token required", content_type="text/plain")
            wanted = {int(c) for c in request.query.get("Country", "").split(",") if c}
            start = request.query.get("StartDate", "0000-00-00")
            rows = [
                e
                for e in versions[version]
                if e["country_id"] in wanted and e["date_start"][:10] >= start
            ]
            size = int(request.query.get("pagesize", 100))
            page = int(request.query.get("page", 0))
            pages = (len(rows) + size - 1) // size
            base = f"{api.url}/api/gedevents/{version}?pagesize={size}"
            return json_reply(
                {
                    "TotalCount": len(rows),
                    "TotalPages": pages,
                    "PreviousPageUrl": f"{base}&page={page - 1}" if page > 0 else "",
                    "NextPageUrl": f"{base}&page={page + 1}" if page + 1 < pages else "",
                    "Result": rows[page * size : (page + 1) * size],
                }
            )

        return handle

    for version in versions:
        api.routes[f"/api/gedevents/{version}"] = route_for(version)


# -- a CSV feed ---------------------------------------------------------------------------------
def serve_csv(api: FakeApi, path: str, text: str) -> None:
    api.routes[path] = lambda _request: Reply(body=text.encode(), content_type="text/csv")


TODAY = dt.date(2024, 2, 1)


# -- an OpenID Connect provider ----------------------------------------------------------------
def serve_oidc(api: FakeApi, *, client_id: str, client_secret: str, email: str) -> None:
    """An OpenID Connect provider that signs ``email`` in at once (no login form).

    Discovery, an authorization endpoint that redirects back with a code, a token endpoint that
    checks the client's secret (HTTP Basic, Authlib's default) and returns an RS256-signed ID
    token carrying the request's nonce, and the key set to check it with.
    """
    import base64
    import secrets
    from urllib.parse import urlencode

    from joserfc import jwt
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
    nonces: dict[str, str] = {}  # code -> the nonce of the request that got it
    issuer = api.url

    def discovery(request: Request) -> Reply:
        return json_reply(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    def authorize(request: Request) -> Reply:
        code = secrets.token_urlsafe(16)
        nonces[code] = request.query.get("nonce", "")
        back = urlencode({"code": code, "state": request.query.get("state", "")})
        return Reply(status=302, headers={"Location": f"{request.query['redirect_uri']}?{back}"})

    def token(request: Request) -> Reply:
        expected = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return json_reply({"error": "invalid_client"}, 401)
        nonce = nonces.pop(request.form.get("code", ""), None)
        if nonce is None:
            return json_reply({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": "analyst-1",
            "aud": client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "email": email,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        tokens = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 600}
        return json_reply({**tokens, "id_token": id_token})

    api.routes["/.well-known/openid-configuration"] = discovery
    api.routes["/authorize"] = authorize
    api.routes["/token"] = token
    api.routes["/jwks"] = lambda request: json_reply({"keys": [key.as_dict(private=False)]})
