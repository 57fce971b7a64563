"""Fetch a report from a URL with the refresh's HTTP conventions (:mod:`risk.refresh.sources`).

The same client (:func:`risk.refresh.sources.make_client`), the same request helper with its
timeouts, bounded retries and size limit, and the same address shown in messages (no user,
password or query string). Interactive use waits less than a scheduled refresh, so the
policy is shorter.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from risk.news.reading import MAX_REPORT_BYTES, NewsReport, ReportProblem, read_report
from risk.refresh.sources import (
    HttpPolicy,
    PullContext,
    SourceConfig,
    SourceError,
    SourceHttp,
    make_client,
    shown_url,
)

NEWS_HTTP = HttpPolicy(timeout=15.0, retries=1, backoff=1.0)


def is_url(text: str) -> bool:
    parts = urlsplit(text.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def fetch_report(
    url: str, *, client: httpx.Client | None = None, policy: HttpPolicy = NEWS_HTTP
) -> NewsReport:
    """The report at ``url``; :class:`ReportProblem` for timeouts, HTTP errors, non-reports."""
    if not is_url(url):
        raise ReportProblem(f"{url!r} is not an http:// or https:// address")
    config = SourceConfig("news", "url", True, {}, policy, Path("."))
    own_client = client is None
    active = make_client() if client is None else client
    body = io.BytesIO()
    try:
        http = SourceHttp(PullContext(client=active), config, [])
        response = http.send("GET", url, what="news report", sink=body, max_bytes=MAX_REPORT_BYTES)
    except SourceError as error:
        raise ReportProblem(str(error)) from None
    finally:
        if own_client:
            active.close()
    if response.status_code != 200:
        raise ReportProblem(
            f"{shown_url(url)} answered HTTP {response.status_code} {response.reason_phrase}; "
            "nothing was read"
        )
    content_type = response.headers.get("content-type", "")
    return read_report(body.getvalue(), name=shown_url(url), content_type=content_type)
