"""Alerts: rules, a real SMTP server (aiosmtpd) and a real HTTP webhook on 127.0.0.1, sent once,
failures recorded without credentials and retried, the refresh never failed by them."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from risk.cli import main
from risk.refresh import runs
from risk.refresh.runs import run_refresh
from risk.refresh.sources import load_config
from risk.report.alerts import (
    AlertConfigError,
    AlertRule,
    alert_log,
    evaluate,
    load_rules,
    run_alerts,
)
from risk.store.database import Store, scores, sent_alerts, utc_now
from risk.store.queries import latest_scores

WEEK = dt.date(2024, 3, 4)
PASSWORD = "s3cret-smtp-password"  # noqa: S105 - a test credential
HOOK_SECRET = "T000/B000/XXXXsecretpath"  # noqa: S105 - a test credential


# -- servers ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=default),
                "login": session.auth_data if session.authenticated else None,
            }
        )
        return "250 OK"


def authenticate(accept: bool):
    def check(server, session, envelope, mechanism, auth_data):
        ok = accept and auth_data.login == b"alerts" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 that accepts the user 'alerts' with PASSWORD."""
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate(True),
        auth_require_tls=False,
    )
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


class Hook:
    """A local webhook: records JSON bodies; answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{HOOK_SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


# -- a store with scores ------------------------------------------------------------------------
def add_scores(store: Store, week: dt.date, rows: list[tuple[str, float, str, float | None]]):
    with store.write() as connection:
        connection.execute(
            scores.insert(),
            [
                {
                    "model_version": "v1",
                    "as_of": week,
                    "theatre": theatre,
                    "probability": p,
                    "band": band,
                    "expected": 40.0,
                    "lower": 20.0,
                    "upper": 70.0,
                    "change": change,
                    "drivers": json.dumps([{"feature": "x", "contribution": 1.0, "text": "why"}]),
                    "created_at": utc_now(),
                }
                for theatre, p, band, change in rows
            ],
        )


SCORES = [
    ("Iraq", 0.42, "high", 0.20),
    ("Syria", 0.10, "low", None),
    ("Yemen & Red Sea", 0.55, "severe", 0.01),
]


@pytest.fixture
def store(database_url):
    opened = Store(database_url)
    add_scores(opened, WEEK, SCORES)
    yield opened
    opened.dispose()


def smtp_env(port: int, password: str = PASSWORD) -> dict[str, str]:
    return {
        "RISK_SMTP_HOST": "127.0.0.1",
        "RISK_SMTP_PORT": str(port),
        "RISK_SMTP_USER": "alerts",
        "RISK_SMTP_PASSWORD": password,
        "RISK_SMTP_FROM": "risk@example.org",
        "RISK_SMTP_STARTTLS": "false",
    }


HIGH = AlertRule(
    name="High risk", min_band="high", email=("analyst@example.org",), webhook_env="HOOK"
)


# -- rules --------------------------------------------------------------------------------------
def test_rules_fire_on_band_probability_and_rise_never_on_a_stale_theatre(sqlite_url):
    opened = Store(sqlite_url)
    add_scores(opened, WEEK, SCORES)
    stale = {"theatre": "Iran", "probability": None, "band": "severe", "change": None}
    # A theatre without a probability (no recent data), as NULL or NaN, never fires.
    latest = pd.concat(
        [latest_scores(opened), pd.DataFrame([stale, {**stale, "probability": float("nan")}])],
        ignore_index=True,
    )
    fired = evaluate([HIGH], latest)
    assert sorted(f.theatre for f in fired) == ["Iraq", "Yemen & Red Sea"]
    rise = AlertRule(name="Rise", min_rise=0.15)
    assert [f.theatre for f in evaluate([rise], latest)] == ["Iraq"]
    anything = AlertRule(name="Any", min_probability=0.0)
    assert "Iran" not in {f.theatre for f in evaluate([anything], latest)}
    only = AlertRule(name="Only", min_probability=0.0, theatres=("Syria",))
    assert [f.theatre for f in evaluate([only], latest)] == ["Syria"]
    both = AlertRule(name="Both", min_band="high", min_probability=0.5)
    assert [f.theatre for f in evaluate([both], latest)] == ["Yemen & Red Sea"]
    opened.dispose()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[alert]]\nname = "A"\nmin_band = "huge"\n', "min_band 'huge' is not one of low"),
        ('[[alert]]\nname = "A"\n', "set at least one of min_band"),
        ('[[alert]]\nname = "A"\nmin_band = "high"\ncolour = 1\n', "unknown key 'colour'"),
        ('[[alert]]\nname = "A"\nmin_probability = 2\n', "must be a number from 0 to 1"),
        ('[[alert]]\nname = "A"\nmin_band = "high"\nemail = ["nobody"]\n', "is not an address"),
        ("[[alert]\n", "not a valid TOML file"),
    ],
)
def test_a_bad_rules_file_says_what_and_where(tmp_path, text, message):
    path = tmp_path / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AlertConfigError) as error:
        load_rules(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_the_shipped_rules_file_loads():
    rules = load_rules(Path(__file__).parents[2] / "data" / "alerts.toml")
    assert [r.name for r in rules] == ["High risk", "Sharp rise"]


# -- sending ------------------------------------------------------------------------------------
def test_email_and_webhook_are_sent_once_per_rule_theatre_and_week(store, smtp, hook):
    env = {**smtp_env(smtp.port), "HOOK": hook.url}
    run = run_alerts(store, [HIGH], environ=env)
    assert [c.status for c in run.channels] == ["sent", "sent"]
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["to"] == ["analyst@example.org"]
    assert mail["login"].login == b"alerts"
    assert "Iraq 42%" in mail["message"]["Subject"]
    assert "Yemen & Red Sea: 55% chance of a surge (severe" in mail["message"].get_content()
    body = hook.bodies[0]
    assert "Iraq" in body["text"] and body["rule"] == "High risk"
    assert {s["theatre"] for s in body["scores"]} == {"Iraq", "Yemen & Red Sea"}
    assert body["scores"][0]["probability"] in (0.42, 0.55)

    again = run_alerts(store, [HIGH], environ=env)
    assert again.channels == [] and len(smtp.messages) == 1 and len(hook.bodies) == 1
    log = alert_log(store)
    assert set(log["status"]) == {"sent"} and len(log) == 4  # 2 theatres x 2 channels

    # A new week is new news.
    add_scores(store, WEEK + dt.timedelta(days=7), [("Iraq", 0.45, "high", 0.03)])
    run_alerts(store, [HIGH], environ=env)
    assert len(smtp.messages) == 2 and "Iraq" in hook.bodies[-1]["text"]


def test_a_failing_server_is_recorded_without_secrets_and_retried(store, smtp, hook, capsys):
    hook.status = 500
    refused = {**smtp_env(smtp.port, password="wrong-" + PASSWORD), "HOOK": hook.url}
    run = run_alerts(store, [HIGH], environ=refused)
    assert [c.status for c in run.failed] == ["failed", "failed"]
    log = alert_log(store)
    assert set(log["status"]) == {"failed"}
    errors = " ".join(log["error"])
    assert "SMTPAuthenticationError" in errors and "500" in errors
    with store.read() as connection:
        stored = " ".join(str(v) for row in connection.execute(sa.select(sent_alerts)) for v in row)
    for secret in (PASSWORD, HOOK_SECRET):
        assert secret not in stored and secret not in json.dumps(run.as_json())

    hook.status = 200
    fixed = {**smtp_env(smtp.port), "HOOK": hook.url}
    retried = run_alerts(store, [HIGH], environ=fixed)
    assert [c.status for c in retried.channels] == ["sent", "sent"]
    log = alert_log(store)
    assert set(log["status"]) == {"sent"} and set(log["attempts"]) == {2}
    assert len(smtp.messages) == 1


def test_a_mail_server_that_is_down_and_an_unset_webhook(store):
    down = smtp_env(free_port())  # nothing listens there
    run = run_alerts(store, [HIGH], environ=down)
    statuses = {c.channel: (c.status, c.error) for c in run.channels}
    assert statuses["email"][0] == "failed" and "Connection" in statuses["email"][1]
    assert statuses["webhook"] == ("off", "HOOK is not set")
    no_host = run_alerts(store, [HIGH], environ={})
    assert "RISK_SMTP_HOST is not set" in no_host.channels[0].error


def test_dry_run_sends_and_records_nothing(store, smtp, hook):
    env = {**smtp_env(smtp.port), "HOOK": hook.url}
    run = run_alerts(store, [HIGH], environ=env, dry_run=True)
    assert {c.status for c in run.channels} == {"would send"}
    assert smtp.messages == [] and hook.bodies == [] and alert_log(store).empty


def test_cli_alerts_json_and_exit_status(sqlite_url, tmp_path, monkeypatch, capsys, hook):
    opened = Store(sqlite_url)
    add_scores(opened, WEEK, SCORES)
    opened.dispose()
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        '[[alert]]\nname = "Severe"\nmin_band = "severe"\nwebhook_env = "HOOK"\n', encoding="utf-8"
    )
    monkeypatch.setenv("RISK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RISK_ALERTS", str(rules))
    monkeypatch.setenv("HOOK", hook.url)
    assert main(["alerts", "--dry-run", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [f["theatre"] for f in payload["fired"]] == ["Yemen & Red Sea"]
    assert hook.bodies == []
    hook.status = 503
    assert main(["alerts"]) == 1  # a failed send: exit 1 so that a scheduler notices
    out = capsys.readouterr().out
    assert "failed" in out and HOOK_SECRET not in out
    hook.status = 200
    assert main(["alerts"]) == 0
    assert len(hook.bodies) == 2


# -- from the refresh ---------------------------------------------------------------------------
def test_the_refresh_sends_alerts_after_rescoring_and_never_fails_for_them(
    store, tmp_path, monkeypatch, hook
):
    (tmp_path / "incoming").mkdir()
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "drop"\nkind = "folder"\nenabled = true\npath = "incoming"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(runs, "_update_model", lambda *a, **k: {"status": "scored"})
    rules = tmp_path / "alerts.toml"
    rules.write_text('[[alert]]\nname = "High"\nmin_band = "high"\nwebhook_env = "HOOK"\n')
    monkeypatch.setenv("RISK_ALERTS", str(rules))
    monkeypatch.setenv("HOOK", hook.url)
    hook.status = 500
    record = run_refresh(store, config=load_config(sources))
    assert record.status == "ok"
    assert "2 alert(s) fire" in record.model["alerts"] and "2 failed" in record.model["alerts"]
    hook.status = 200
    record = run_refresh(store, config=load_config(sources))
    assert record.status == "ok" and "2 sent" in record.model["alerts"]
    assert len(hook.bodies) == 2

    rules.write_text("[[alert]\n")  # a broken rules file: noted, the run is still ok
    record = run_refresh(store, config=load_config(sources))
    assert record.status == "ok" and record.model["alerts"].startswith("alerts not checked")
