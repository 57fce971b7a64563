"""A news report as text: pasted, from a ``.txt`` / ``.html`` file, or a fetched page.

HTML is reduced to the article's text by trafilatura, which also reads the page's title and
publication date from its metadata. Input that cannot be a news report (empty, binary, too
large) raises :class:`ReportProblem` with a message for the person who gave it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import trafilatura

# A long wire report is 2,000 words (about 15 kB); anything past this is not one report.
MAX_REPORT_BYTES = 2 << 20
# Fewer words than this in a page's main text: a login, cookie or error page, not an article.
_MIN_ARTICLE_WORDS = 15
_HTML_START = re.compile(rb"^\s*(?:<!doctype html|<html|<head|<body|<article|<p[\s>])", re.I)
_DATELINE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4})\b"
)


class ReportProblem(ValueError):
    """The input is not a usable report; the message says why and what to do."""


@dataclass(frozen=True)
class NewsReport:
    """The report's text, title, publication date (when known) and where it came from."""

    text: str
    title: str
    published: dt.date | None
    origin: str


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise ReportProblem(
            f"{name} looks like a binary file (it holds NUL bytes), not a news report; give "
            "the report as text, an .html page or a URL"
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\r\n\t\f")
        if controls > 8:
            break
        return text
    raise ReportProblem(
        f"{name} is not text (neither UTF-8 nor Windows-1252); save the report as a UTF-8 "
        ".txt file, or give its URL"
    )


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:200]
    return ""


def _dateline(text: str) -> dt.date | None:
    """A date written at the top of a plain-text report ("BAGHDAD, 21 January 2024 -")."""
    import dateparser  # imported here: only plain text without a given date needs it

    head = "\n".join(text.strip().splitlines()[:3])[:300]
    match = _DATELINE.search(head)
    if not match:
        return None
    parsed = dateparser.parse(match.group(1), languages=["en"], settings={"DATE_ORDER": "DMY"})
    return parsed.date() if parsed else None


def read_report(
    data: bytes | str, *, name: str = "the pasted text", content_type: str = ""
) -> NewsReport:
    """The report in ``data``: HTML (by content type, file name or content) or plain text."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportProblem(
            f"{name} is {len(raw) / (1 << 20):.1f} MB; a news report is far smaller (the "
            f"limit is {MAX_REPORT_BYTES >> 20} MB). Paste or load one report at a time"
        )
    text = data if isinstance(data, str) else _decode(raw, name)
    if not text.strip():
        raise ReportProblem(f"{name} is empty; paste or load the text of a news report")
    is_html = (
        "html" in content_type.lower()
        or name.lower().endswith((".html", ".htm"))
        or bool(_HTML_START.match(raw[:2048]))
    )
    if not is_html:
        return NewsReport(text.strip(), _first_line_title(text), _dateline(text), name)
    extracted = trafilatura.extract(
        text, output_format="json", with_metadata=True, include_comments=False, url=None
    )
    if not extracted:
        raise ReportProblem(
            f"{name}: no article text found in this HTML page (an error page, a login page "
            "or a page without an article?)"
        )
    article = json.loads(extracted)
    body = (article.get("text") or "").strip()
    if len(body.split()) < _MIN_ARTICLE_WORDS:
        raise ReportProblem(
            f"{name}: no article text found in this HTML page, only {len(body.split())} words "
            "(an error page, a login page or a page without an article?)"
        )
    title = (article.get("title") or "").strip() or _first_line_title(body)
    return NewsReport(body, title[:200], _date(article.get("date")), name)
