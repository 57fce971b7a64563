"""Alerts: rules over the latest stored scores -> e-mail (SMTP) and webhook messages, sent once.

Rules live in ``data/alerts.toml`` (or the file in ``RISK_ALERTS``). Each (rule, theatre, scored
week, channel) is sent once and recorded in ``sent_alerts``; a channel that failed (mail server
down, webhook refusing) is recorded with its reason, credentials removed, and retried on the
next run. A theatre without a probability (no recent data) never fires.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import smtplib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import sqlalchemy as sa

from risk.config import DATA_DIR
from risk.forecast.scores import BANDS
from risk.store.database import Store, as_utc, sent_alerts, utc_now
from risk.store.queries import latest_scores

DEFAULT_ALERTS_PATH = DATA_DIR / "alerts.toml"
_RULE_KEYS = {"name", "theatres", "min_band", "min_probability", "min_rise", "email", "webhook_env"}
TIMEOUT_SECONDS = 30.0


class AlertConfigError(ValueError):
    """The alerts file is unusable; the message names the file, the rule and the key."""


def alerts_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("RISK_ALERTS") or DEFAULT_ALERTS_PATH)


def band_names() -> list[str]:
    """Band names from lowest to highest (risk.forecast.scores.BANDS)."""
    return [name for name, *_ in BANDS]


@dataclass(frozen=True)
class AlertRule:
    """One rule; it fires for a theatre when every condition it sets holds."""

    name: str
    theatres: tuple[str, ...] = ()  # empty: every theatre
    min_band: str | None = None
    min_probability: float | None = None
    min_rise: float | None = None  # rise in probability since the week before (0.15 = 15 pts)
    email: tuple[str, ...] = ()
    webhook_env: str | None = None

    def conditions(self) -> str:
        parts = []
        if self.min_band:
            parts.append(f"band {self.min_band} or above")
        if self.min_probability is not None:
            parts.append(f"probability at least {self.min_probability:.0%}")
        if self.min_rise is not None:
            parts.append(f"a rise of at least {self.min_rise * 100:.0f} pts since last week")
        return " and ".join(parts)


def load_rules(path: Path | None = None) -> list[AlertRule]:
    """Read and check an alerts file; a missing file means no rules."""
    path = path or alerts_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AlertConfigError(f"{path}: not a valid TOML file: {error}") from None
    entries = data.get("alert", [])
    if not isinstance(entries, list):
        raise AlertConfigError(f"{path}: 'alert' must be a list of [[alert]] tables")
    rules: list[AlertRule] = []
    bands = band_names()
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: alert {number}"
        if not isinstance(entry, dict):
            raise AlertConfigError(f"{where}: must be a table ([[alert]])")
        unknown = sorted(set(entry) - _RULE_KEYS)
        if unknown:
            raise AlertConfigError(
                f"{where}: unknown key {unknown[0]!r}; use {', '.join(sorted(_RULE_KEYS))}"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AlertConfigError(f"{where}: 'name' must be a non-empty string")
        where = f"{path}: alert {name!r}"
        if name in {r.name for r in rules}:
            raise AlertConfigError(f"{where}: the name is used twice; names must be unique")
        rule = AlertRule(
            name=name.strip(),
            theatres=_strings(entry.get("theatres", []), where, "theatres"),
            min_band=_band(entry.get("min_band"), where, bands),
            min_probability=_share(entry.get("min_probability"), where, "min_probability"),
            min_rise=_share(entry.get("min_rise"), where, "min_rise"),
            email=_strings(entry.get("email", []), where, "email"),
            webhook_env=_optional_string(entry.get("webhook_env"), where, "webhook_env"),
        )
        if rule.min_band is None and rule.min_probability is None and rule.min_rise is None:
            raise AlertConfigError(
                f"{where}: set at least one of min_band, min_probability, min_rise"
            )
        for address in rule.email:
            if "@" not in address or any(c.isspace() for c in address):
                raise AlertConfigError(f"{where}: email {address!r} is not an address")
        rules.append(rule)
    return rules


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertConfigError(f'{where}: {key!r} must be a list of strings, e.g. ["..."]')
    return tuple(v.strip() for v in value if v.strip())


def _optional_string(value: Any, where: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise AlertConfigError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _band(value: Any, where: str, bands: list[str]) -> str | None:
    if value is None:
        return None
    if value not in bands:
        raise AlertConfigError(f"{where}: min_band {value!r} is not one of {', '.join(bands)}")
    return str(value)


def _share(value: Any, where: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise AlertConfigError(f"{where}: {key} {value!r} must be a number from 0 to 1")
    return float(value)


# -- evaluating ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Firing:
    """A rule that fires for a theatre's score of one week."""

    rule: str
    theatre: str
    as_of: dt.date
    probability: float
    band: str
    change: float | None
    expected: float
    lower: float
    upper: float
    why: str  # the score's main driver, in words

    def line(self) -> str:
        change = "" if self.change is None else f", {self.change * 100:+.0f} pts since last week"
        text = (
            f"{self.theatre}: {self.probability:.0%} chance of a surge ({self.band}{change}); "
            f"expected {self.expected:,.0f} violent incidents (80%: {self.lower:,.0f}-"
            f"{self.upper:,.0f})"
        )
        return f"{text}. {self.why}" if self.why else text

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "theatre": self.theatre,
            "as_of": self.as_of.isoformat(),
            "probability": round(self.probability, 4),
            "band": self.band,
            "change": None if self.change is None else round(self.change, 4),
            "expected_incidents": round(self.expected, 1),
            "interval": [self.lower, self.upper],
            "why": self.why,
        }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def evaluate(rules: list[AlertRule], latest: pd.DataFrame) -> list[Firing]:
    """Every (rule, theatre) that fires on the latest scores (risk.store.queries.latest_scores).

    A theatre without a probability (not scored: no recent data) never fires; a rule on the
    rise fires only when last week's score is known.
    """
    rank = {name: i for i, name in enumerate(band_names())}
    firings = []
    for row in latest.itertuples(index=False):
        probability = _number(row.probability)
        if probability is None:
            continue
        change = _number(row.change)
        for rule in rules:
            if rule.theatres and row.theatre not in rule.theatres:
                continue
            if rule.min_band is not None and rank.get(row.band, -1) < rank[rule.min_band]:
                continue
            if rule.min_probability is not None and probability < rule.min_probability:
                continue
            if rule.min_rise is not None and (change is None or change < rule.min_rise):
                continue
            drivers = row.drivers if isinstance(row.drivers, list) else []
            firings.append(
                Firing(
                    rule=rule.name,
                    theatre=row.theatre,
                    as_of=row.as_of,
                    probability=probability,
                    band=str(row.band),
                    change=change,
                    expected=_number(row.expected) or 0.0,
                    lower=_number(row.lower) or 0.0,
                    upper=_number(row.upper) or 0.0,
                    why=str(drivers[0].get("text", "")) if drivers else "",
                )
            )
    return firings


# -- sending ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """``RISK_SMTP_*`` settings, or None when ``RISK_SMTP_HOST`` is not set."""
        env = os.environ if environ is None else environ
        host = (env.get("RISK_SMTP_HOST") or "").strip()
        if not host:
            return None
        starttls = (env.get("RISK_SMTP_STARTTLS") or "true").strip().lower() not in {
            "0",
            "false",
            "no",
            "off",
        }
        port_text = (env.get("RISK_SMTP_PORT") or "").strip()
        try:
            port = int(port_text) if port_text else (587 if starttls else 25)
        except ValueError:
            raise AlertConfigError(f"RISK_SMTP_PORT={port_text!r} is not a port number") from None
        user = (env.get("RISK_SMTP_USER") or "").strip() or None
        return cls(
            host=host,
            port=port,
            user=user,
            password=env.get("RISK_SMTP_PASSWORD") or None,
            sender=(env.get("RISK_SMTP_FROM") or "").strip() or (user or "risk@localhost"),
            starttls=starttls,
        )


def send_email(settings: SmtpSettings, to: list[str], subject: str, body: str) -> None:
    """Send one plain-text message; raises on any SMTP or network failure."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(message)


def post_webhook(url: str, payload: dict[str, Any], client: httpx.Client | None = None) -> None:
    """POST JSON to an incoming webhook (Slack and Teams read ``text``); raises on failure."""
    if client is not None:
        response = client.post(url, json=payload, timeout=TIMEOUT_SECONDS)
    else:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as own:
            response = own.post(url, json=payload)
    response.raise_for_status()


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _message(rule: AlertRule, pending: list[Firing]) -> tuple[str, str]:
    week = pending[0].as_of
    names = ", ".join(f"{f.theatre} {f.probability:.0%}" for f in pending)
    subject = f"[escalation risk] {rule.name}: {names} (week of {week:%Y-%m-%d})"
    lines = [
        f"Alert {rule.name!r} ({rule.conditions()}) for the week of {week:%Y-%m-%d}:",
        "",
        *(f"- {f.line()}" for f in pending),
        "",
        "Probability: at least one surge week (violent incidents at least twice the mean of the "
        "four weeks before) within the forecast horizon.",
    ]
    return subject, "\n".join(lines)


# -- running ------------------------------------------------------------------------------------
@dataclass
class ChannelResult:
    rule: str
    channel: str  # email | webhook
    theatres: list[str]
    status: str  # sent | failed | would send | off
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "channel": self.channel,
            "theatres": self.theatres,
            "status": self.status,
            "error": self.error,
        }


@dataclass
class AlertRun:
    """What one evaluation did: the scored week, what fired, what was sent or failed."""

    as_of: dt.date | None
    rules: int
    fired: list[Firing] = field(default_factory=list)
    channels: list[ChannelResult] = field(default_factory=list)
    dry_run: bool = False
    note: str | None = None

    @property
    def failed(self) -> list[ChannelResult]:
        return [c for c in self.channels if c.status == "failed"]

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "rules": self.rules,
            "dry_run": self.dry_run,
            "fired": [f.as_json() for f in self.fired],
            "channels": [c.as_json() for c in self.channels],
            "note": self.note,
        }

    def summary(self) -> str:
        """One line for the refresh record and logs."""
        if self.note:
            return self.note
        sent = sum(len(c.theatres) for c in self.channels if c.status == "sent")
        failed = sum(len(c.theatres) for c in self.channels if c.status == "failed")
        return (
            f"{len(self.fired)} alert(s) fire for the week of {self.as_of}; {sent} sent, "
            f"{failed} failed (retried next run)"
        )


def _sent_keys(store: Store, as_of: dt.date) -> set[tuple[str, str, str]]:
    with store.read() as connection:
        rows = connection.execute(
            sa.select(sent_alerts.c.rule, sent_alerts.c.theatre, sent_alerts.c.channel).where(
                sent_alerts.c.as_of == as_of, sent_alerts.c.status == "sent"
            )
        ).all()
    return {(r.rule, r.theatre, r.channel) for r in rows}


def _record(
    store: Store, channel: str, pending: list[Firing], status: str, error: str | None
) -> None:
    now = utc_now()
    with store.write() as connection:
        for firing in pending:
            key = (
                (sent_alerts.c.rule == firing.rule)
                & (sent_alerts.c.theatre == firing.theatre)
                & (sent_alerts.c.as_of == firing.as_of)
                & (sent_alerts.c.channel == channel)
            )
            values = {
                "status": status,
                "probability": firing.probability,
                "band": firing.band,
                "reason": firing.line(),
                "error": error,
                "last_tried_at": now,
                "sent_at": now if status == "sent" else None,
            }
            found = connection.execute(sa.select(sent_alerts.c.attempts).where(key)).first()
            if found is None:
                connection.execute(
                    sent_alerts.insert().values(
                        rule=firing.rule,
                        theatre=firing.theatre,
                        as_of=firing.as_of,
                        channel=channel,
                        attempts=1,
                        first_tried_at=now,
                        **values,
                    )
                )
            else:
                connection.execute(
                    sent_alerts.update().where(key).values(attempts=found.attempts + 1, **values)
                )


def run_alerts(
    store: Store,
    rules: list[AlertRule] | None = None,
    *,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    client: httpx.Client | None = None,
) -> AlertRun:
    """Evaluate the rules on the latest stored scores and send what was not sent yet.

    Send failures do not raise: each is recorded (status failed, the reason without
    credentials) and retried on the next run. ``dry_run`` sends and records nothing.
    """
    env = os.environ if environ is None else environ
    rules = load_rules(alerts_path(env)) if rules is None else rules
    latest = latest_scores(store)
    if not rules:
        return AlertRun(None, 0, dry_run=dry_run, note="no alert rules configured")
    if latest.empty:
        return AlertRun(None, len(rules), dry_run=dry_run, note="no scores stored yet")
    as_of = latest["as_of"].iloc[0]
    run = AlertRun(as_of, len(rules), evaluate(rules, latest), dry_run=dry_run)
    done = _sent_keys(store, as_of)
    smtp = SmtpSettings.from_env(env)
    for rule in rules:
        fired = [f for f in run.fired if f.rule == rule.name]
        if not fired:
            continue
        channels = []
        if rule.email:
            channels.append("email")
        if rule.webhook_env:
            channels.append("webhook")
        if not channels:
            run.channels.append(
                ChannelResult(rule.name, "none", [f.theatre for f in fired], "off", "no channel")
            )
        for channel in channels:
            pending = [f for f in fired if (rule.name, f.theatre, channel) not in done]
            if not pending:
                continue
            names = [f.theatre for f in pending]
            url = (env.get(rule.webhook_env) or "").strip() if rule.webhook_env else ""
            if channel == "webhook" and not url:
                # An unset variable switches the webhook off (the shipped file names one).
                note = f"{rule.webhook_env} is not set"
                run.channels.append(ChannelResult(rule.name, channel, names, "off", note))
                continue
            if dry_run:
                run.channels.append(ChannelResult(rule.name, channel, names, "would send"))
                continue
            subject, body = _message(rule, pending)
            secrets = [url, *((smtp.password or "", smtp.user or "") if smtp else ())]
            try:
                if channel == "email":
                    if smtp is None:
                        raise AlertConfigError(
                            "RISK_SMTP_HOST is not set; set RISK_SMTP_HOST (and RISK_SMTP_PORT, "
                            "RISK_SMTP_USER, RISK_SMTP_PASSWORD, RISK_SMTP_FROM) to send e-mail"
                        )
                    send_email(smtp, list(rule.email), subject, body)
                else:
                    post_webhook(
                        url,
                        {
                            "text": f"{subject}\n{body}",
                            "rule": rule.name,
                            "as_of": as_of.isoformat(),
                            "scores": [f.as_json() for f in pending],
                        },
                        client,
                    )
            except Exception as error:  # any failure of the far side: record, retry next run
                reason = _scrub(f"{type(error).__name__}: {error}", secrets)
                _record(store, channel, pending, "failed", reason)
                run.channels.append(ChannelResult(rule.name, channel, names, "failed", reason))
                continue
            _record(store, channel, pending, "sent", None)
            run.channels.append(ChannelResult(rule.name, channel, names, "sent"))
    return run


def alert_log(store: Store, limit: int = 500) -> pd.DataFrame:
    """Alerts sent or tried, newest first: week, rule, theatre, channel, status, attempts..."""
    columns = [
        "as_of",
        "rule",
        "theatre",
        "channel",
        "status",
        "attempts",
        "probability",
        "band",
        "reason",
        "error",
        "last_tried_at",
        "sent_at",
    ]
    with store.read() as connection:
        rows = connection.execute(
            sa.select(*(sent_alerts.c[c] for c in columns))
            .order_by(sent_alerts.c.last_tried_at.desc(), sent_alerts.c.id.desc())
            .limit(limit)
        ).all()
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("last_tried_at", "sent_at"):
        frame[column] = [as_utc(v) for v in frame[column]]
    return frame
