"""Where a refresh gets incidents: a drop folder, a CSV URL, the ACLED API and the UCDP API.

The sources file (default ``data/sources.toml``, else ``$RISK_SOURCES``) lists them.
Secrets never appear in it: a source names the environment variables that hold them
(``password_env = "ACLED_PASSWORD"``), and their values are kept out of every message.

A source only *fetches*. :meth:`Source.pull` returns :class:`Pulled`: files in one of the
supported CSV formats (API pages are converted to ACLED / UCDP CSV columns in a temporary
file, so that API data goes through the same loader as an upload) and, for ACLED, the ids of
events ACLED withdrew. Everything is fetched before anything is stored, so a source that fails
half-way (timeout, HTTP error, a body cut off, malformed JSON, bad credentials) raises
:class:`SourceError` and leaves the store untouched. :mod:`risk.refresh.runs` does the storing.

Code that talks HTTP takes its base URL from the configuration and an ``httpx.Client`` from
the caller, so tests point it at a local server.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

import httpx

from risk.incidents.formats import ACLED_COLUMNS, UCDP_COLUMNS

KINDS = ("folder", "url", "acled", "ucdp")
DEFAULT_CRON = "0 6 * * 3"  # Wednesdays 06:00 UTC, after ACLED's weekly update
_SPOOL_IN_MEMORY = 32 << 20
_MAX_PAGES = 10_000
# Literal values under these keys would be secrets written into a file; they must come from
# the environment instead (``<key>_env = "VARIABLE"``).
_SECRET_KEYS = {"password", "token", "access_token", "secret", "api_key", "key", "email"}


class ConfigError(ValueError):
    """The sources file is unusable; the message names the file, the source and the key."""


class SourceError(RuntimeError):
    """A source could not be pulled; one line saying why and what to do (no secrets)."""


# -- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpPolicy:
    """How hard to try: seconds per network operation, extra attempts, first back-off wait."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 2.0


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    enabled: bool
    options: dict[str, Any]
    http: HttpPolicy
    base_dir: Path  # relative paths in the options are relative to the sources file's folder


@dataclass(frozen=True)
class RefreshConfig:
    """The whole sources file: the sources in order, the schedule and refresh settings."""

    sources: tuple[SourceConfig, ...]
    cron: str = DEFAULT_CRON
    retrain_days: float = 28.0
    lease_seconds: float = 120.0
    path: Path | None = None

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: there is no source named {name!r} (configured: {known})")

    @property
    def enabled(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]


def _problem(path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {message}")


def _number(value: Any, path: Path, where: str, key: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise _problem(path, where, f"{key} = {value!r} must be a number of at least {minimum:g}")
    return float(value)


def _date(value: Any, path: Path, where: str, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _problem(path, where, f"{key} = {value!r} is not a date (YYYY-MM-DD)") from None


def _strings(value: Any, path: Path, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _problem(path, where, f"{key} must be a non-empty list of strings")
    return [v.strip() for v in value]


def _env_name(value: Any, path: Path, where: str, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|", value):
        raise _problem(path, where, f"{key} = {value!r} must name an environment variable")
    return value


_DEFAULTS: dict[str, dict[str, Any]] = {
    "folder": {"path": None, "patterns": ["*.csv", "*.csv.gz", "*.zip"], "format": "auto"},
    "url": {"url": None, "format": "auto", "headers_env": {}, "max_mb": 1024},
    "acled": {
        "base_url": "https://acleddata.com",
        "email_env": "ACLED_EMAIL",
        "password_env": "ACLED_PASSWORD",
        "countries": None,
        "start_date": "2022-01-01",
        "revision_days": 60,
        "page_size": 5000,
    },
    "ucdp": {
        "base_url": "https://ucdpapi.pcr.uu.se/api",
        "token_env": "UCDP_ACCESS_TOKEN",
        "versions": ["25.1"],
        "candidate_months": 3,
        "country_ids": None,
        "start_date": "2022-01-01",
        "page_size": 1000,
    },
}
_COMMON = {"name", "kind", "enabled", "timeout", "retries", "backoff"}


def _source_options(
    kind: str, raw: dict[str, Any], path: Path, where: str, base_dir: Path
) -> dict[str, Any]:
    defaults = _DEFAULTS[kind]
    unknown = sorted(set(raw) - set(defaults) - _COMMON)
    for key in unknown:
        if key in _SECRET_KEYS:
            raise _problem(
                path,
                where,
                f"{key} must not be written in the file; put it in an environment variable "
                f'and name that variable: {key}_env = "VARIABLE"',
            )
    if unknown:
        raise _problem(
            path,
            where,
            f"unknown key(s) {', '.join(unknown)} for a {kind} source; known: "
            f"{', '.join(sorted(set(defaults) | _COMMON))}",
        )
    options = {**defaults, **{k: v for k, v in raw.items() if k in defaults}}
    missing = [k for k, v in options.items() if v is None]
    if missing:
        raise _problem(path, where, f"a {kind} source needs {', '.join(missing)}")
    fmt = options.get("format")
    if fmt is not None and fmt not in ("auto", "acled", "ucdp", "native"):
        raise _problem(path, where, f"format = {fmt!r} must be auto, acled, ucdp or native")
    if kind == "folder":
        options["path"] = base_dir / str(options["path"])
        options["patterns"] = _strings(options["patterns"], path, where, "patterns")
    elif kind == "url":
        parts = urlsplit(str(options["url"]))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _problem(path, where, "url must be an http:// or https:// address")
        headers = options["headers_env"]
        if not isinstance(headers, dict):
            raise _problem(path, where, 'headers_env must be a table: {Header = "VARIABLE"}')
        for variable in headers.values():
            _env_name(variable, path, where, "headers_env")
        _number(options["max_mb"], path, where, "max_mb", 1)
    elif kind == "acled":
        options["countries"] = _strings(options["countries"], path, where, "countries")
        options["start_date"] = _date(options["start_date"], path, where, "start_date")
        _number(options["revision_days"], path, where, "revision_days")
        _number(options["page_size"], path, where, "page_size", 1)
        for key in ("email_env", "password_env"):
            if not _env_name(options[key], path, where, key):
                raise _problem(path, where, f"{key} must name an environment variable")
    elif kind == "ucdp":
        ids = options["country_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise _problem(
                path, where, "country_ids must list Gleditsch-Ward codes, e.g. [645, 652]"
            )
        options["versions"] = [str(v) for v in options["versions"]]
        options["start_date"] = _date(options["start_date"], path, where, "start_date")
        _number(options["candidate_months"], path, where, "candidate_months")
        _number(options["page_size"], path, where, "page_size", 1)
        _env_name(options["token_env"], path, where, "token_env")
    for key in ("base_url",):
        if key in options:
            options[key] = str(options[key]).rstrip("/")
    return options


def load_config(path: Path) -> RefreshConfig:
    """Read and check a sources file; ConfigError says what is wrong and where."""
    from risk.refresh.schedule import check_cron

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such sources file; create it (see data/sources.toml) or point "
            "RISK_SOURCES at one"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a valid TOML file: {error}") from None
    refresh = data.get("refresh", {})
    schedule = data.get("schedule", {})
    if not isinstance(refresh, dict) or not isinstance(schedule, dict):
        raise ConfigError(f"{path}: [refresh] and [schedule] must be tables")
    http = HttpPolicy(
        timeout=_number(refresh.get("timeout", 30), path, "[refresh]", "timeout", 0.001),
        retries=int(_number(refresh.get("retries", 3), path, "[refresh]", "retries")),
        backoff=_number(refresh.get("backoff", 2), path, "[refresh]", "backoff"),
    )
    cron = str(schedule.get("cron", DEFAULT_CRON))
    try:
        check_cron(cron)
    except ValueError as error:
        raise ConfigError(f"{path}: [schedule] cron: {error}") from None
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{path}: sources are [[source]] tables")
    sources: list[SourceConfig] = []
    for index, raw in enumerate(raw_sources, start=1):
        where = f"source {index}"
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise _problem(path, where, "name must be a short word (letters, digits, - _ .)")
        where = f"source {name!r}"
        if any(s.name == name for s in sources):
            raise _problem(path, where, "the name is used twice")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise _problem(path, where, f"kind = {kind!r} must be one of {', '.join(KINDS)}")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _problem(path, where, "enabled must be true or false")
        source_http = HttpPolicy(
            timeout=_number(raw.get("timeout", http.timeout), path, where, "timeout", 0.001),
            retries=int(_number(raw.get("retries", http.retries), path, where, "retries")),
            backoff=_number(raw.get("backoff", http.backoff), path, where, "backoff"),
        )
        options = _source_options(kind, raw, path, where, path.resolve().parent)
        sources.append(SourceConfig(name, kind, enabled, options, source_http, path.parent))
    return RefreshConfig(
        sources=tuple(sources),
        cron=cron,
        retrain_days=_number(refresh.get("retrain_days", 28), path, "[refresh]", "retrain_days"),
        lease_seconds=_number(
            refresh.get("lease_seconds", 120), path, "[refresh]", "lease_seconds", 0.1
        ),
        path=path,
    )


# -- what a pull returns ------------------------------------------------------------------------
@dataclass
class PulledFile:
    """One file to load: a path (drop folder) or a temporary file (URL, API pages)."""

    name: str
    file_format: str
    sha256: str
    path: Path | None = None
    data: IO[bytes] | None = None
    rows: int | None = None
    covers: tuple[dt.date, dt.date] | None = None  # the period the pull asked for, if any

    def source(self) -> Path | BinaryIO:
        if self.path is not None:
            return self.path
        if self.data is None:
            raise ValueError(f"{self.name}: neither a path nor data")
        self.data.seek(0)
        return self.data  # type: ignore[return-value]

    def close(self) -> None:
        if self.data is not None:
            self.data.close()


@dataclass
class Pulled:
    """What a source fetched; nothing is stored yet."""

    files: list[PulledFile] = field(default_factory=list)
    withdrawn_ids: list[str] = field(default_factory=list)  # source ids the source withdrew
    withdrawn_format: str = "acled"  # the format (store source) those ids belong to
    state: dict[str, Any] = field(default_factory=dict)  # saved only when the pull is stored
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        for pulled in self.files:
            pulled.close()


@dataclass
class PullContext:
    """What a source may know about the store and its own past, and how to reach the network.

    ``newest_event(format)`` and ``newest_revision(format)`` answer from the store: the latest
    event date and the latest revision time (ACLED ``timestamp``) held for that format.
    """

    client: httpx.Client
    state: dict[str, Any] = field(default_factory=dict)
    newest_event: Callable[[str], dt.date | None] = lambda _format: None
    newest_revision: Callable[[str], int | None] = lambda _format: None
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    progress: Callable[[str], None] = lambda _message: None
    sleep: Callable[[float], None] = time.sleep


# -- HTTP with timeouts, bounded retries and back-off ----------------------------------------
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


def shown_url(url: str) -> str:
    """An address for messages: no user, password or query string (which may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class SourceHttp:
    """Requests for one source (or a news fetch): retries transient failures, never shows its
    secrets. Shared by every pull and by :mod:`risk.news.fetch`."""

    def __init__(self, ctx: PullContext, config: SourceConfig, secrets: list[str]) -> None:
        self.client = ctx.client
        self.policy = config.http
        self.name = config.name
        self.sleep = ctx.sleep
        self.secrets = [s for s in secrets if s]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def fail(self, message: str) -> SourceError:
        return SourceError(self.scrub(message))

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        wait = self.policy.backoff * 2**attempt
        if response is not None:
            with contextlib.suppress(ValueError):  # Retry-After may also be an HTTP date
                wait = max(wait, min(float(response.headers.get("retry-after", 0)), 60.0))
        self.sleep(wait)

    def send(
        self, method: str, url: str, *, what: str, sink: IO[bytes] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The response to a request, retried on network errors, timeouts and 5xx/429.

        With ``sink`` the body is streamed into it (rewound for every attempt) instead of being
        kept in memory; ``kwargs['max_bytes']`` then bounds it.
        """
        max_bytes = kwargs.pop("max_bytes", None)
        attempts = self.policy.retries + 1
        reason = ""
        for attempt in range(attempts):
            response: httpx.Response | None = None
            try:
                if sink is None:
                    response = self.client.request(
                        method, url, timeout=self.policy.timeout, **kwargs
                    )
                else:
                    response = self._stream(method, url, sink, max_bytes, **kwargs)
            except httpx.TimeoutException:
                reason = f"timed out after {self.policy.timeout:g} s"
            except httpx.RemoteProtocolError as error:
                reason = f"the connection broke off mid-response ({error}); the body is incomplete"
            except httpx.TransportError as error:
                reason = f"cannot connect ({type(error).__name__}: {error})"
            else:
                if response.status_code not in _RETRY_STATUS:
                    return response
                reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            if attempt < attempts - 1:
                self._wait(attempt, response)
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        raise self.fail(f"{what} ({shown_url(url)}): {reason} ({tries})")

    def _stream(
        self, method: str, url: str, sink: IO[bytes], max_bytes: int | None, **kwargs: Any
    ) -> httpx.Response:
        sink.seek(0)
        sink.truncate()
        with self.client.stream(method, url, timeout=self.policy.timeout, **kwargs) as response:
            if response.status_code != 200:
                response.read()
                return response
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise self.fail(
                        f"{shown_url(url)}: larger than {max_bytes >> 20:,} MB, the max_mb limit "
                        "for this source; raise max_mb in the sources file if that is expected"
                    )
                sink.write(chunk)
        return response

    def json(self, response: httpx.Response, *, what: str) -> Any:
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            size = len(response.content)
            raise self.fail(
                f"{what} ({shown_url(str(response.url))}): the response is not valid JSON "
                f"({error.__class__.__name__} at byte {getattr(error, 'pos', '?')} of {size}); "
                "it may have been cut off. Nothing was stored; the next refresh tries again"
            ) from None

    def body_snippet(self, response: httpx.Response) -> str:
        text = response.text.strip().replace("\n", " ")
        return self.scrub(text[:200])


def _env(config: SourceConfig, key: str, purpose: str) -> str:
    variable = config.options.get(key) or ""
    value = os.environ.get(variable, "") if variable else ""
    if not value.strip():
        raise SourceError(
            f"{config.name}: the environment variable {variable} is not set; it must hold "
            f"{purpose} (named by {key} in the sources file)"
        )
    return value.strip()


# -- writing API rows as CSV --------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _CsvSpool:
    """Rows written as CSV into a temporary file (in memory while small), then hashed."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - handed on
            max_size=_SPOOL_IN_MEMORY, mode="w+b"
        )
        self._text = io.TextIOWrapper(self.file, encoding="utf-8", newline="")  # type: ignore[type-var]
        self._writer = csv.writer(self._text)
        self._writer.writerow(columns)
        self.rows = 0

    def write(self, row: dict[str, Any], dates: tuple[str, ...] = ()) -> None:
        cells = []
        for column in self.columns:
            value = _cell(row.get(column))
            if column in dates and len(value) > 10 and value[4:5] == "-":
                value = value[:10]  # "2024-01-20T00:00:00" -> "2024-01-20"
            cells.append(value)
        self._writer.writerow(cells)
        self.rows += 1

    def finish(self, name: str, file_format: str) -> PulledFile:
        self._text.flush()
        self._text.detach()
        digest = hashlib.sha256()
        self.file.seek(0)
        for block in iter(lambda: self.file.read(1 << 20), b""):
            digest.update(block)
        self.file.seek(0)
        return PulledFile(name, file_format, digest.hexdigest(), data=self.file, rows=self.rows)

    def discard(self) -> None:
        self.file.close()


# -- the sources --------------------------------------------------------------------------------
class Source:
    """Base: a configured source that can pull."""

    kind = ""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.name = config.name

    def pull(self, ctx: PullContext) -> Pulled:
        raise NotImplementedError


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FolderSource(Source):
    """Every CSV put in a folder, loaded once: a file is known by its content's sha256."""

    kind = "folder"

    def files(self) -> list[Path]:
        folder: Path = self.config.options["path"]
        found: set[Path] = set()
        for pattern in self.config.options["patterns"]:
            found.update(folder.glob(pattern))
        # Hidden and partial files are still being written (or are not the user's).
        usable = [
            p
            for p in found
            if p.is_file()
            and not p.name.startswith((".", "~"))
            and not p.name.endswith((".part", ".tmp", ".crdownload"))
        ]
        return sorted(usable, key=lambda p: (p.stat().st_mtime, p.name))

    def pull(self, ctx: PullContext) -> Pulled:
        folder: Path = self.config.options["path"]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SourceError(f"{self.name}: cannot use the folder {folder}: {error}") from None
        pulled = Pulled()
        for path in self.files():
            try:
                digest = file_sha256(path)
            except OSError as error:
                pulled.notes.append(f"{path.name}: cannot read it: {error}")
                continue
            pulled.files.append(
                PulledFile(
                    name=path.name,
                    file_format=self.config.options["format"],
                    sha256=digest,
                    path=path,
                )
            )
        return pulled


class UrlSource(Source):
    """A CSV in a supported format at an HTTP(S) address."""

    kind = "url"

    def pull(self, ctx: PullContext) -> Pulled:
        options = self.config.options
        headers = {
            header: os.environ.get(variable, "").strip()
            for header, variable in options["headers_env"].items()
        }
        missing = [v for h, v in options["headers_env"].items() if not headers[h]]
        if missing:
            raise SourceError(
                f"{self.name}: the environment variable {missing[0]} is not set; it must "
                "hold the value of a request header (headers_env in the sources file)"
            )
        http = SourceHttp(ctx, self.config, list(headers.values()))
        url = options["url"]
        ctx.progress(f"{self.name}: downloading {shown_url(url)}")
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, mode="w+b")  # noqa: SIM115
        try:
            response = http.send(
                "GET",
                url,
                what=f"{self.name}: download",
                sink=spool,
                headers=headers,
                max_bytes=int(options["max_mb"] * (1 << 20)),
            )
            if response.status_code != 200:
                raise http.fail(
                    f"{self.name}: {shown_url(url)} answered HTTP {response.status_code} "
                    f"{response.reason_phrase}: {http.body_snippet(response)}"
                )
            digest = hashlib.sha256()
            spool.seek(0)
            for block in iter(lambda: spool.read(1 << 20), b""):
                digest.update(block)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        name = shown_url(url)
        return Pulled(
            files=[PulledFile(name, options["format"], digest.hexdigest(), data=spool)],
        )


class AcledSource(Source):
    """ACLED's API: an OAuth password-grant token, paged reads, and the deleted events.

    The read window starts ``revision_days`` before the newest ACLED event in the store
    (ACLED revises recent events; a revision carries a newer ``timestamp`` and replaces the
    stored version), or at ``start_date`` for an empty store. Events ACLED deleted since the
    last pull are listed by its ``deleted`` endpoint and withdrawn here too.
    """

    kind = "acled"

    def _token(self, http: SourceHttp, email: str, password: str) -> str:
        base = self.config.options["base_url"]
        response = http.send(
            "POST",
            f"{base}/oauth/token",
            what=f"{self.name}: token request",
            data={
                "username": email,
                "password": password,
                "grant_type": "password",
                "client_id": "acled",
            },
            headers={"Accept": "application/json"},
        )
        env = f"{self.config.options['email_env']} / {self.config.options['password_env']}"
        if response.status_code in (400, 401):
            raise http.fail(
                f"{self.name}: ACLED refused the credentials in {env} (HTTP "
                f"{response.status_code}: {http.body_snippet(response)}); check the email and "
                "password of your myACLED account"
            )
        if response.status_code == 403:
            raise http.fail(
                f"{self.name}: ACLED denied access for the account in {env} (HTTP 403); "
                "accept ACLED's terms of use and complete your myACLED profile"
            )
        if response.status_code != 200:
            raise http.fail(
                f"{self.name}: ACLED token request failed: HTTP {response.status_code} "
                f"{http.body_snippet(response)}"
            )
        body = http.json(response, what=f"{self.name}: token response")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise http.fail(f"{self.name}: ACLED's token response has no access_token")
        http.secrets.append(token)
        return token

    def _pages(
        self,
        http: SourceHttp,
        ctx: PullContext,
        url: str,
        params: dict[str, Any],
        token: str,
        what: str,
    ) -> Iterator[list[dict[str, Any]]]:
        size = int(self.config.options["page_size"])
        previous_first: Any = object()
        for page in range(1, _MAX_PAGES + 1):
            ctx.progress(f"{self.name}: {what} page {page}")
            response = http.send(
                "GET",
                url,
                what=f"{self.name}: {what} page {page}",
                params={**params, "_format": "json", "limit": size, "page": page},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if response.status_code == 401:
                raise http.fail(f"{self.name}: ACLED rejected the access token (HTTP 401)")
            if response.status_code == 403:
                raise http.fail(
                    f"{self.name}: ACLED denied access to {shown_url(url)} (HTTP 403); the "
                    "account may lack API access or need to accept the terms of use"
                )
            if response.status_code != 200:
                raise http.fail(
                    f"{self.name}: {what} page {page}: HTTP {response.status_code} "
                    f"{http.body_snippet(response)}"
                )
            body = http.json(response, what=f"{self.name}: {what} page {page}")
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise http.fail(
                    f"{self.name}: {what} page {page}: unexpected response (no 'data' list); "
                    f"{str(body)[:200]}"
                )
            if body.get("success") is False or body.get("status") not in (None, 200, "200"):
                message = body.get("error") or body.get("messages") or "no reason given"
                raise http.fail(f"{self.name}: ACLED reported an error: {str(message)[:300]}")
            rows = body["data"]
            if not all(isinstance(r, dict) for r in rows):
                raise http.fail(f"{self.name}: {what} page {page}: rows are not JSON objects")
            if rows:
                first = rows[0].get("event_id_cnty")
                if first == previous_first:
                    raise http.fail(
                        f"{self.name}: {what}: page {page} repeats page {page - 1}; the API "
                        "ignores paging"
                    )
                previous_first = first
                yield rows
            if len(rows) < size:
                return
        raise http.fail(f"{self.name}: {what}: more than {_MAX_PAGES:,} pages")

    def window(self, ctx: PullContext) -> tuple[dt.date, dt.date]:
        start: dt.date = self.config.options["start_date"]
        newest = ctx.newest_event("acled")
        if newest is not None:
            revised = newest - dt.timedelta(days=float(self.config.options["revision_days"]))
            start = max(start, revised)
        return start, ctx.today

    def pull(self, ctx: PullContext) -> Pulled:
        options = self.config.options
        email = _env(self.config, "email_env", "the email address of your myACLED account")
        password = _env(self.config, "password_env", "the password of your myACLED account")
        http = SourceHttp(ctx, self.config, [password, email])
        started = int(time.time())
        token = self._token(http, email, password)
        start, end = self.window(ctx)
        base = options["base_url"]
        spool = _CsvSpool(ACLED_COLUMNS)
        newest = ""
        try:
            seen: set[str] = set()
            # One country at a time: a plain equality filter, whatever the API's OR syntax.
            for country in options["countries"]:
                params = {
                    "country": country,
                    "event_date": f"{start.isoformat()}|{end.isoformat()}",
                    "event_date_where": "BETWEEN",
                }
                url = f"{base}/api/acled/read"
                for rows in self._pages(http, ctx, url, params, token, f"{country} events"):
                    for row in rows:
                        event_id = row.get("event_id_cnty")
                        if not isinstance(event_id, str) or not event_id.strip():
                            raise http.fail(
                                f"{self.name}: an ACLED event has no event_id_cnty; the "
                                "response is not ACLED data"
                            )
                        if event_id.strip() not in seen:
                            seen.add(event_id.strip())
                            spool.write(row)
                            newest = max(newest, str(row.get("event_date") or "")[:10])
            withdrawn = self._deleted(http, ctx, token, seen)
        except BaseException:
            spool.discard()
            raise
        pulled = Pulled(
            withdrawn_ids=withdrawn,
            withdrawn_format="acled",
            state={"deleted_since": started},
            notes=[f"events dated {start} .. {end}"],
        )
        if spool.rows:
            name = f"ACLED API {start}..{end} ({len(options['countries'])} countries)"
            pulled_file = spool.finish(name, "acled")
            # The load covers the window asked for, up to the newest event ACLED returned: the
            # days after it are not published yet, and must not count as quiet.
            try:
                pulled_file.covers = (start, min(end, dt.date.fromisoformat(newest)))
            except ValueError:
                pulled_file.covers = None
            pulled.files.append(pulled_file)
        else:
            spool.discard()
        return pulled

    def _deleted(self, http: SourceHttp, ctx: PullContext, token: str, seen: set[str]) -> list[str]:
        newest_revision = ctx.newest_revision("acled")
        since = ctx.state.get("deleted_since")
        if since is None:
            if newest_revision is None:
                return []  # nothing of ACLED's is stored, so there is nothing to withdraw
            since = newest_revision
        since = int(since) - 86_400  # a day's margin for clocks and ACLED's processing
        url = f"{self.config.options['base_url']}/api/deleted/read"
        params = {"deleted_timestamp": since, "deleted_timestamp_where": ">="}
        withdrawn: list[str] = []
        for rows in self._pages(http, ctx, url, params, token, "deleted events"):
            for row in rows:
                event_id = str(row.get("event_id_cnty") or "").strip()
                if event_id and event_id not in seen:
                    withdrawn.append(event_id)
        return withdrawn


def candidate_versions(today: dt.date, months: int) -> list[str]:
    """UCDP Candidate releases of the last ``months`` months, newest first: ``yy.0.m``."""
    versions = []
    year, month = today.year, today.month
    for _ in range(months):
        versions.append(f"{year % 100}.0.{month}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return versions


class UcdpSource(Source):
    """UCDP's API: GED and Candidate events for the configured countries, paged JSON.

    A UCDP version never changes once released, so a version pulled completely (for the same
    countries and start date) is not pulled again. Besides the listed ``versions``, the
    Candidate releases of the last ``candidate_months`` months are tried; one not yet
    released (HTTP 404) is skipped.
    """

    kind = "ucdp"

    def _key(self, version: str) -> str:
        options = self.config.options
        countries = ",".join(str(i) for i in sorted(options["country_ids"]))
        return f"{version}|{countries}|{options['start_date']}"

    def pull(self, ctx: PullContext) -> Pulled:
        options = self.config.options
        token = ""
        if options["token_env"]:
            purpose = (
                "a UCDP API access token (ask the API maintainer: https://ucdp.uu.se/apidocs/)"
            )
            token = _env(self.config, "token_env", purpose)
        http = SourceHttp(ctx, self.config, [token])
        done = set(ctx.state.get("done", []))
        explicit = list(dict.fromkeys(options["versions"]))
        candidates = [
            v
            for v in candidate_versions(ctx.today, int(options["candidate_months"]))
            if v not in explicit
        ]
        pulled = Pulled()
        try:
            for version in [*explicit, *candidates]:
                key = self._key(version)
                if key in done:
                    continue
                spool = self._version(http, ctx, version, token, optional=version in candidates)
                if spool is None:
                    pulled.notes.append(f"candidate version {version} is not released yet")
                    continue
                done.add(key)
                if spool.rows:
                    pulled.files.append(spool.finish(f"UCDP API gedevents {version}", "ucdp"))
                else:
                    spool.discard()
                    pulled.notes.append(f"version {version}: no events for these countries")
        except BaseException:
            pulled.close()
            raise
        pulled.state = {"done": sorted(done)}
        return pulled

    def _version(
        self, http: SourceHttp, ctx: PullContext, version: str, token: str, *, optional: bool
    ) -> _CsvSpool | None:
        options = self.config.options
        url = f"{options['base_url']}/gedevents/{version}"
        headers = {"Accept": "application/json"}
        if token:
            headers["x-ucdp-access-token"] = token
        params: dict[str, Any] = {
            "pagesize": int(options["page_size"]),
            "Country": ",".join(str(i) for i in options["country_ids"]),
            "StartDate": options["start_date"].isoformat(),
        }
        spool = _CsvSpool(UCDP_COLUMNS)
        try:
            page, pages = 0, 1
            while page < pages:
                ctx.progress(f"{self.name}: gedevents {version} page {page + 1}")
                what = f"{self.name}: gedevents {version} page {page + 1}"
                response = http.send(
                    "GET", url, what=what, params={**params, "page": page}, headers=headers
                )
                if response.status_code == 404 and optional:
                    spool.discard()
                    return None
                if response.status_code in (401, 403):
                    raise http.fail(
                        f"{self.name}: UCDP refused the access token in "
                        f"{options['token_env'] or '(none configured)'} (HTTP "
                        f"{response.status_code}); check it, or request one from the API "
                        "maintainer (https://ucdp.uu.se/apidocs/)"
                    )
                if response.status_code == 404:
                    raise http.fail(
                        f"{self.name}: UCDP has no gedevents version {version!r} (HTTP 404); "
                        "check versions in the sources file"
                    )
                if response.status_code != 200:
                    raise http.fail(
                        f"{what}: HTTP {response.status_code} {http.body_snippet(response)}"
                    )
                body = http.json(response, what=what)
                if not isinstance(body, dict) or not isinstance(body.get("Result"), list):
                    raise http.fail(f"{what}: unexpected response (no 'Result' list)")
                total = body.get("TotalPages")
                if not isinstance(total, int) or total < 0:
                    raise http.fail(f"{what}: unexpected response (TotalPages is {total!r})")
                if total > _MAX_PAGES:
                    raise http.fail(f"{what}: {total:,} pages is more than {_MAX_PAGES:,}")
                rows = body["Result"]
                for row in rows:
                    if not isinstance(row, dict) or row.get("id") in (None, ""):
                        raise http.fail(f"{what}: an event has no id; not UCDP data")
                    spool.write(row, dates=("date_start", "date_end", "source_date"))
                if not rows:
                    break
                pages = total
                page += 1
        except BaseException:
            spool.discard()
            raise
        return spool


SOURCE_TYPES: dict[str, type[Source]] = {
    "folder": FolderSource,
    "url": UrlSource,
    "acled": AcledSource,
    "ucdp": UcdpSource,
}


def make_source(config: SourceConfig) -> Source:
    return SOURCE_TYPES[config.kind](config)


def make_client() -> httpx.Client:
    """The HTTP client refreshes use (timeouts are set per request, per source)."""
    return httpx.Client(
        follow_redirects=True,
        headers={"User-Agent": "risk-dashboard-refresh/1 (+python httpx)"},
        timeout=30.0,
    )
