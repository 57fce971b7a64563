"""Reading reports: text, HTML, bad input, and fetching from a local HTTP server."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from risk.news.fetch import fetch_report
from risk.news.reading import MAX_REPORT_BYTES, ReportProblem, read_report
from risk.refresh.sources import HttpPolicy

ARTICLE = b"""<!DOCTYPE html><html><head><title>Drone hits base | Wire</title>
<meta property="og:title" content="Drone strike hits base near Erbil">
<meta property="article:published_time" content="2024-03-05T09:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Drone strike hits base near Erbil</h1>
<p>Two drones targeted a base near Erbil International Airport on Monday, a Kurdish security
official said. One drone was shot down and the other crashed in an empty field.</p>
<p>The Islamic Resistance in Iraq said in a statement that it had carried out the attack, the
third on the base this year according to officials in the Kurdistan region.</p>
<script>alert("not text")</script></article>
<footer>Subscribe to our newsletter</footer></body></html>"""
FAST = HttpPolicy(timeout=0.5, retries=0, backoff=0.0)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        if self.path == "/article":
            self._send(200, ARTICLE, "text/html; charset=utf-8")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, ARTICLE, "text/html")
        elif self.path == "/error":
            self._send(503, b"<html><body>Service Unavailable</body></html>", "text/html")
        elif self.path == "/login":
            self._send(200, b"<html><body><form>Log in</form></body></html>", "text/html")
        elif self.path == "/huge":
            self._send(200, b"a" * (MAX_REPORT_BYTES + 10), "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_a_page_is_reduced_to_its_article_with_title_and_date(server):
    report = fetch_report(f"{server}/article", policy=FAST)
    assert "Erbil International Airport" in report.text
    assert "Subscribe" not in report.text and "alert" not in report.text
    assert report.title == "Drone strike hits base near Erbil"
    assert report.published == dt.date(2024, 3, 5)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "timed out after 0.5 s"),
        ("/error", "HTTP 503"),
        ("/missing", "HTTP 404"),
        ("/login", "no article text"),
        ("/huge", "larger than"),
    ],
)
def test_fetch_failures_are_one_clear_message(server, path, message):
    with pytest.raises(ReportProblem, match=message):
        fetch_report(f"{server}{path}", policy=FAST)


def test_an_address_that_is_not_a_url_is_refused():
    with pytest.raises(ReportProblem, match="not an http"):
        fetch_report("file:///etc/passwd")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\t\n", "empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "binary"),
        (b"a" * (10 << 20), "MB"),
    ],
)
def test_unusable_input_is_refused(data, message):
    with pytest.raises(ReportProblem, match=message):
        read_report(data, name="input")


def test_plain_text_takes_its_title_from_the_first_line_and_its_date_from_a_dateline():
    report = read_report(b"Headline here\n\nBAGHDAD, 12 February 2024 - Something happened.")
    assert report.title == "Headline here"
    assert report.published == dt.date(2024, 2, 12)
