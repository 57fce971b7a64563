"""Refresh: pull every enabled source, store what is new as batches, rescore, retrain when due.

One run is recorded in ``refresh_runs`` with a row per source in ``refresh_sources`` (status,
rows added / updated / withdrawn, batches, the error). Each file a source brings is one
:func:`risk.store.ingest.ingest_file` batch (all or nothing, serialised with uploads by the store's
writer lock); events a publisher deleted are withdrawn as a batch of their own that
``undo`` restores. A source that fails stores nothing and does not stop the others. A file
whose exact bytes were loaded before (same sha256, by any route) is not loaded again.

Two refreshes never run at once: a run holds a lease (``refresh_lock``) that it renews by a
heartbeat; a second run is refused while the lease is live, and a crashed run's lease simply
expires (``lease_seconds``), after which the next run takes over and marks it abandoned.

:func:`source_status` and :func:`recent_runs` are what the dashboard shows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.incidents.csv_reader import FileProblem
from risk.refresh.schedule import schedule_interval
from risk.refresh.sources import (
    ConfigError,
    PullContext,
    RefreshConfig,
    SourceConfig,
    SourceError,
    load_config,
    make_client,
    make_source,
)
from risk.store.database import (
    Store,
    as_utc,
    batches,
    incidents,
    refresh_lock,
    refresh_runs,
    refresh_sources,
    source_state,
    utc_now,
)
from risk.store.ingest import ingest_file, withdraw_events

if TYPE_CHECKING:
    from risk.forecast.target import SurgeTarget
    from risk.incidents.theatres import Theatres

_LOCK_NAME = "refresh"


class RefreshBusy(RuntimeError):
    """Another refresh holds the lock; the message says which and until when."""


class _LeaseLost(RuntimeError):
    pass


# -- records ------------------------------------------------------------------------------------
@dataclass
class SourceResult:
    """What one source did in one run."""

    name: str
    kind: str
    status: str = "ok"
    started_at: dt.datetime = field(default_factory=utc_now)
    finished_at: dt.datetime | None = None
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    withdrawn: int = 0
    batches: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "added": self.added,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "withdrawn": self.withdrawn,
            "batches": self.batches,
            "notes": self.notes,
            "error": self.error,
        }


@dataclass
class RunRecord:
    """One refresh run: when, what each source did, what happened to the model."""

    id: int
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = "running"
    sources: list[SourceResult] = field(default_factory=list)
    model: dict[str, Any] | None = None
    error: str | None = None

    @property
    def added(self) -> int:
        return sum(s.added for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def withdrawn(self) -> int:
        return sum(s.withdrawn for s in self.sources)

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status != "ok"]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "status": self.status,
            "added": self.added,
            "updated": self.updated,
            "withdrawn": self.withdrawn,
            "sources": [s.as_json() for s in self.sources],
            "model": self.model,
            "error": self.error,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _holder_alive(holder: str) -> bool:
    """False when the lock holder ran on this host and its process no longer exists.

    A run killed outright frees the lock at once for the next run on the same machine; one on
    another machine is trusted until its lease lapses.
    """
    host, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the lease ----------------------------------------------------------------------------------
class _Lease:
    """The refresh lock: a row with an expiry that a heartbeat thread keeps pushing forward."""

    def __init__(self, store: Store, seconds: float) -> None:
        self.store = store
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, trigger: str) -> tuple[int, dt.datetime]:
        """Take the lock and open a run record in one transaction; RefreshBusy if held."""
        with self.store.write() as connection:
            now = utc_now()
            held = connection.execute(
                sa.select(refresh_lock).where(refresh_lock.c.name == _LOCK_NAME)
            ).first()
            if held is not None and as_utc(held.expires_at) > now and _holder_alive(held.holder):
                raise RefreshBusy(
                    f"another refresh is running (run {held.run_id}, started "
                    f"{as_utc(held.acquired_at):%Y-%m-%d %H:%M:%S} UTC on "
                    f"{held.holder.rsplit(':', 1)[0]}); this one was not started. Try again "
                    f"when it has finished (its lock lapses by "
                    f"{as_utc(held.expires_at):%H:%M:%S} UTC if it died)"
                )
            if held is not None:  # a run that died: its process is gone or its lease ran out
                connection.execute(
                    refresh_runs.update()
                    .where(refresh_runs.c.id == held.run_id, refresh_runs.c.status == "running")
                    .values(
                        status="abandoned",
                        finished_at=now,
                        error="the run stopped without finishing (its lock expired)",
                    )
                )
                connection.execute(refresh_lock.delete().where(refresh_lock.c.name == _LOCK_NAME))
            run_id = connection.execute(
                refresh_runs.insert().values(
                    started_at=now,
                    status="running",
                    trigger=trigger[:20],
                    host=self.holder.rsplit(":", 1)[0][:200],
                )
            ).inserted_primary_key[0]
            connection.execute(
                refresh_lock.insert().values(
                    name=_LOCK_NAME,
                    holder=self.holder,
                    run_id=run_id,
                    acquired_at=now,
                    heartbeat_at=now,
                    expires_at=now + dt.timedelta(seconds=self.seconds),
                )
            )
        self._thread = threading.Thread(target=self._beat, name="refresh-heartbeat", daemon=True)
        self._thread.start()
        return run_id, now

    def _renew(self) -> None:
        # PostgreSQL: a row update needs no writer lock, so a long ingest does not delay it.
        transaction = (
            self.store.engine.begin() if self.store.dialect == "postgresql" else self.store.write()
        )
        with transaction as connection:
            now = utc_now()
            renewed = connection.execute(
                refresh_lock.update()
                .where(refresh_lock.c.name == _LOCK_NAME, refresh_lock.c.holder == self.holder)
                .values(heartbeat_at=now, expires_at=now + dt.timedelta(seconds=self.seconds))
            ).rowcount
        if renewed == 0:
            self.lost.set()

    def _beat(self) -> None:
        interval = max(min(self.seconds / 4, 30.0), 0.02)
        while not self._stop.wait(interval):
            try:
                self._renew()
            except sa.exc.SQLAlchemyError:
                continue  # busy or a dropped connection: the next beat tries again

    def check(self) -> None:
        if self.lost.is_set():
            raise _LeaseLost(
                "the refresh lock expired while this run was held up, so another run may have "
                "started; this run stopped. Raise lease_seconds in [refresh] if runs are long"
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self.store.write() as connection:
            connection.execute(
                refresh_lock.delete().where(
                    refresh_lock.c.name == _LOCK_NAME, refresh_lock.c.holder == self.holder
                )
            )


# -- store facts and state ----------------------------------------------------------------------
def _newest(store: Store, column: sa.Column, source: str) -> Any:
    with store.read() as connection:
        return connection.execute(
            sa.select(sa.func.max(column)).where(incidents.c.source == source)
        ).scalar_one()


def _newest_event(store: Store, source: str) -> dt.date | None:
    value = _newest(store, incidents.c.event_date, source)
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    return dt.date.fromisoformat(str(value)[:10])


def _newest_revision(store: Store, source: str) -> int | None:
    value = _newest(store, incidents.c.revision_time, source)
    return None if value is None else int(value)


def _load_state(store: Store, name: str) -> dict[str, Any]:
    with store.read() as connection:
        text = connection.execute(
            sa.select(source_state.c.state).where(source_state.c.source == name)
        ).scalar_one_or_none()
    return json.loads(text) if text else {}


def _save_state(store: Store, name: str, state: dict[str, Any]) -> None:
    with store.write() as connection:
        values = {"state": json.dumps(state), "updated_at": utc_now()}
        changed = connection.execute(
            source_state.update().where(source_state.c.source == name).values(**values)
        ).rowcount
        if changed == 0:
            connection.execute(source_state.insert().values(source=name, **values))


def _loaded_batch(connection: Connection, sha256: str) -> int | None:
    """The batch that already loaded these exact bytes (committed or since undone)."""
    return connection.execute(
        sa.select(batches.c.id).where(batches.c.sha256 == sha256).order_by(batches.c.id).limit(1)
    ).scalar_one_or_none()


def _secret_values(config: SourceConfig) -> list[str]:
    names = [v for k, v in config.options.items() if k.endswith("_env") and isinstance(v, str)]
    names += list(config.options.get("headers_env", {}).values())
    return [os.environ[n].strip() for n in names if n and os.environ.get(n, "").strip()]


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# -- one source ---------------------------------------------------------------------------------
def _refresh_source(
    store: Store,
    config: SourceConfig,
    client: httpx.Client,
    theatres: Theatres | None,
    progress: Callable[[str], None],
    sleep: Callable[[float], None],
) -> SourceResult:
    result = SourceResult(config.name, config.kind)
    secrets = _secret_values(config)
    ctx = PullContext(
        client=client,
        state=_load_state(store, config.name),
        newest_event=lambda source: _newest_event(store, source),
        newest_revision=lambda source: _newest_revision(store, source),
        progress=progress,
        sleep=sleep,
    )
    try:
        pulled = make_source(config).pull(ctx)
    except SourceError as error:
        result.status, result.error = "failed", _scrub(str(error), secrets)
        result.finished_at = utc_now()
        return result
    except Exception as error:  # a bug or an unforeseen failure: recorded, the run goes on
        result.status = "failed"
        result.error = _scrub(f"{config.name}: {type(error).__name__}: {error}", secrets)
        result.finished_at = utc_now()
        return result
    problems: list[str] = []
    try:
        result.notes += pulled.notes
        for pulled_file in pulled.files:
            with store.read() as connection:
                earlier = _loaded_batch(connection, pulled_file.sha256)
            if earlier is not None:
                result.notes.append(f"{pulled_file.name}: already loaded (batch {earlier})")
                continue
            progress(f"{config.name}: loading {pulled_file.name}")
            sha256 = pulled_file.sha256
            try:
                report = ingest_file(
                    store,
                    pulled_file.source(),
                    name=pulled_file.name,
                    file_format=pulled_file.file_format,
                    origin=f"refresh:{config.name}",
                    theatres=theatres,
                    covers=pulled_file.covers,
                    # Checked again under the writer lock: an upload of the same file at the
                    # same moment is loaded once.
                    precondition=lambda connection, sha=sha256: (
                        _loaded_batch(connection, sha) is None
                    ),
                )
            except FileProblem as problem:
                problems.append(_scrub(str(problem), secrets))
                continue
            if report is None:
                result.notes.append(f"{pulled_file.name}: already loaded")
                continue
            result.added += report.added
            result.updated += report.updated
            result.duplicates += report.duplicates
            result.rejected += report.rejected_count
            result.batches.append(int(report.batch_id or 0))
            result.notes.append(
                f"{pulled_file.name}: batch {report.batch_id}, {report.rows_read:,} rows: "
                f"{report.added:,} added, {report.updated:,} updated, "
                f"{report.duplicates:,} duplicates, {report.rejected_count:,} rejected"
            )
        if pulled.withdrawn_ids and not problems:
            withdrawal = withdraw_events(
                store,
                pulled.withdrawn_format,
                pulled.withdrawn_ids,
                name=f"{config.name}: events deleted by the publisher",
                origin=f"refresh:{config.name}",
            )
            result.withdrawn = withdrawal.withdrawn
            if withdrawal.batch_id is not None:
                result.batches.append(withdrawal.batch_id)
                result.notes.append(
                    f"withdrew {withdrawal.withdrawn:,} events the publisher deleted "
                    f"(batch {withdrawal.batch_id})"
                )
        if problems:
            kept = " (left in the folder)" if config.kind == "folder" else ""
            result.status = "failed"
            result.error = (
                f"{config.name}: {len(problems)} of {len(pulled.files)} files could not be "
                f"loaded{kept}: " + "; ".join(problems)
            )
        else:
            _save_state(store, config.name, {**ctx.state, **pulled.state})
    except Exception as error:
        result.status = "failed"
        result.error = _scrub(f"{config.name}: {type(error).__name__}: {error}", secrets)
    finally:
        pulled.close()
    result.finished_at = utc_now()
    return result


def _save_source_result(store: Store, run_id: int, result: SourceResult) -> None:
    with store.write() as connection:
        connection.execute(
            refresh_sources.insert().values(
                run_id=run_id,
                source=result.name[:100],
                kind=result.kind,
                status=result.status,
                started_at=result.started_at,
                finished_at=result.finished_at or utc_now(),
                added=result.added,
                updated=result.updated,
                duplicates=result.duplicates,
                rejected=result.rejected,
                withdrawn=result.withdrawn,
                batches=json.dumps(result.batches),
                notes=json.dumps(result.notes, ensure_ascii=False),
                error=result.error,
            )
        )


# -- the model step -----------------------------------------------------------------------------
def retrain_reason(
    metadata_: dict[str, Any] | None,
    target: SurgeTarget,
    digest: str,
    retrain_days: float,
    now: dt.datetime | None = None,
) -> str | None:
    """Why the model must be retrained now, or None when it may stay."""
    if metadata_ is None:
        return "there is no model yet"
    if metadata_.get("target") != target.as_dict():
        return "the surge target settings changed"
    if metadata_.get("theatres_digest") != digest:
        return "the theatre definitions changed"
    created = metadata_.get("created_at")
    try:
        created_at = as_utc(dt.datetime.fromisoformat(str(created)))
    except ValueError:
        return "the model's creation time is unknown"
    age = (now or utc_now()) - created_at
    if age > dt.timedelta(days=retrain_days):
        return f"the model is {age.days} days old (retrain_days is {retrain_days:g})"
    return None


def _update_model(
    store: Store,
    theatres: Theatres,
    target: SurgeTarget,
    config: RefreshConfig,
    changed: bool,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from risk.forecast.model import ModelError
    from risk.forecast.panel import weekly_panel
    from risk.forecast.scores import make_scores
    from risk.forecast.training import model_metadata, theatres_digest, train

    reason = retrain_reason(
        model_metadata(store), target, theatres_digest(theatres), config.retrain_days
    )
    if not changed and reason is None:
        return {"status": "unchanged", "note": "no new data and the model is current"}
    info: dict[str, Any] = {"status": "scored", "retrained": False, "retrain_reason": reason}
    progress("rebuilding the weekly panel")
    try:
        panel = weekly_panel(store, theatres, target)
    except ModelError as error:
        return {"status": "skipped", "note": str(error), "retrain_reason": reason}
    model = None
    if reason is not None:
        progress(f"retraining: {reason}")
        try:
            model = train(store, theatres, target, panel=panel).model
            info["retrained"] = True
        except ModelError as error:
            info["note"] = f"not retrained: {error}"
            if not reason.startswith("the model is"):
                info["status"] = "skipped"  # no usable model for these settings
                return info
    progress("rescoring")
    try:
        scored = make_scores(store, theatres, target, model=model, panel=panel)
    except ModelError as error:
        info.update(status="skipped", note=str(error))
        return info
    info["model_version"] = scored.model_version
    info["scored_week"] = scored.as_of.isoformat()
    return info


def _send_alerts(store: Store, progress: Callable[[str], None]) -> str:
    """Alerts on the new scores; whatever fails here never fails the run's data work."""
    progress("checking alert rules")
    try:
        from risk.report.alerts import run_alerts

        return run_alerts(store).summary()
    except Exception as error:  # a bad rules file, a broken store read: noted, not raised
        return f"alerts not checked: {type(error).__name__}: {error}"


# -- the run ------------------------------------------------------------------------------------
def run_refresh(
    store: Store,
    *,
    config: RefreshConfig | None = None,
    theatres: Theatres | None = None,
    target: SurgeTarget | None = None,
    only: str | None = None,
    trigger: str = "cli",
    client: httpx.Client | None = None,
    update_model: bool = True,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunRecord:
    """Pull the enabled sources (or only the one named), store what is new, rescore.

    Raises :class:`RefreshBusy` when another refresh holds the lock and ConfigError for a bad
    sources file or an unknown / disabled ``only``. Source failures do not raise: they are in
    the returned (and stored) record, whose ``status`` is then ``failed``. ``progress`` gets
    one line per step, for a progress display.
    """
    from risk.config import load_settings

    settings = load_settings()
    if config is None:
        config = load_config(settings.sources_path)
    if only is not None:
        chosen = [config.source(only)]
        if not chosen[0].enabled:
            raise ConfigError(
                f"{config.path}: source {only!r} is disabled; set enabled = true to pull it"
            )
    else:
        chosen = config.enabled
    say = progress or (lambda _message: None)
    lease = _Lease(store, config.lease_seconds)
    run_id, started = lease.acquire(trigger)
    record = RunRecord(id=run_id, trigger=trigger, started_at=started)
    own_client = client is None
    http_client = client or make_client()
    try:
        for source in chosen:
            lease.check()
            say(f"{source.name}: pulling ({source.kind})")
            result = _refresh_source(store, source, http_client, theatres, say, sleep)
            record.sources.append(result)
            _save_source_result(store, run_id, result)
        lease.check()
        if update_model:
            if theatres is None:
                from risk.incidents.theatres import load_theatres

                theatres = load_theatres(settings.theatres_path)
            if target is None:
                from risk.forecast.target import settings_target

                target = settings_target(settings)
            changed = (record.added + record.updated + record.withdrawn) > 0
            record.model = _update_model(store, theatres, target, config, changed, say)
            if record.model.get("status") == "scored":
                record.model["alerts"] = _send_alerts(store, say)
    except _LeaseLost as error:
        record.error = str(error)
    except Exception as error:
        record.error = f"{type(error).__name__}: {error}"
    except BaseException:
        record.error = "interrupted"
        raise
    finally:
        record.finished_at = utc_now()
        record.status = "failed" if record.error or record.failed else "ok"
        try:
            _finish_run(store, record)
        finally:
            lease.release()
            if own_client:
                http_client.close()
    return record


def _finish_run(store: Store, record: RunRecord) -> None:
    with store.write() as connection:
        connection.execute(
            refresh_runs.update()
            .where(refresh_runs.c.id == record.id)
            .values(
                finished_at=record.finished_at,
                status=record.status,
                added=record.added,
                updated=record.updated,
                withdrawn=record.withdrawn,
                model=json.dumps(record.model) if record.model is not None else None,
                error=record.error,
            )
        )


# -- what the dashboard shows -------------------------------------------------------------------
def _source_row(row: Any) -> dict[str, Any]:
    return {
        "name": row.source,
        "kind": row.kind,
        "status": row.status,
        "started_at": as_utc(row.started_at),
        "finished_at": as_utc(row.finished_at),
        "added": row.added,
        "updated": row.updated,
        "duplicates": row.duplicates,
        "rejected": row.rejected,
        "withdrawn": row.withdrawn,
        "batches": json.loads(row.batches),
        "notes": json.loads(row.notes),
        "error": row.error,
    }


def recent_runs(store: Store, n: int = 10) -> list[dict[str, Any]]:
    """The last ``n`` refresh runs, newest first, each with its per-source results.

    Each run: ``id``, ``trigger``, ``started_at``, ``finished_at`` (UTC datetimes; None while
    running), ``status`` (running / ok / failed / abandoned), ``added``, ``updated``,
    ``withdrawn``, ``error``, ``model`` (dict or None) and ``sources`` (list of dicts: ``name``,
    ``kind``, ``status``, ``started_at``, ``finished_at``, ``added``, ``updated``,
    ``duplicates``, ``rejected``, ``withdrawn``, ``batches``, ``notes``, ``error``).
    """
    with store.read() as connection:
        runs = connection.execute(
            sa.select(refresh_runs).order_by(refresh_runs.c.id.desc()).limit(n)
        ).all()
        ids = [r.id for r in runs]
        rows = (
            connection.execute(
                sa.select(refresh_sources)
                .where(refresh_sources.c.run_id.in_(ids))
                .order_by(refresh_sources.c.id)
            ).all()
            if ids
            else []
        )
    by_run: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(_source_row(row))
    return [
        {
            "id": run.id,
            "trigger": run.trigger,
            "started_at": as_utc(run.started_at),
            "finished_at": as_utc(run.finished_at),
            "status": run.status,
            "added": run.added,
            "updated": run.updated,
            "withdrawn": run.withdrawn,
            "error": run.error,
            "model": json.loads(run.model) if run.model else None,
            "sources": by_run.get(run.id, []),
        }
        for run in runs
    ]


def source_status(
    store: Store, config: RefreshConfig | None = None, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Freshness of every configured source, in the sources file's order.

    Each: ``name``, ``kind``, ``enabled``, ``last_success`` and ``last_attempt`` (UTC
    datetimes or None), ``last_status`` (ok / failed / None), ``last_error``, the ``added``,
    ``updated`` and ``withdrawn`` rows of the last attempt, ``stale`` (enabled, tried, and no
    success within ``stale_after``, twice the schedule's interval), ``stale_after``
    (timedelta) and ``state`` in words: disabled, never run, ok, last attempt failed, stale,
    or failing, never loaded.
    """
    if config is None:
        from risk.config import load_settings

        config = load_config(load_settings().sources_path)
    now = now or utc_now()
    stale_after = 2 * schedule_interval(config.cron, now)
    statuses = []
    with store.read() as connection:
        for source in config.sources:
            query = sa.select(refresh_sources).where(refresh_sources.c.source == source.name)
            last = connection.execute(query.order_by(refresh_sources.c.id.desc()).limit(1)).first()
            success = connection.execute(
                query.where(refresh_sources.c.status == "ok")
                .order_by(refresh_sources.c.id.desc())
                .limit(1)
            ).first()
            last_success = as_utc(success.finished_at) if success else None
            # A source never tried is set-up, not staleness: it gets a state of its own.
            stale = (
                source.enabled
                and last is not None
                and (last_success is None or now - last_success > stale_after)
            )
            if not source.enabled:
                state = "disabled"
            elif last is None:
                state = "never run"
            elif stale:
                state = "stale" if last_success is not None else "failing, never loaded"
            else:
                state = "ok" if last.status == "ok" else "last attempt failed"
            statuses.append(
                {
                    "name": source.name,
                    "kind": source.kind,
                    "enabled": source.enabled,
                    "last_success": last_success,
                    "last_attempt": as_utc(last.finished_at) if last else None,
                    "last_status": last.status if last else None,
                    "last_error": last.error if last else None,
                    "added": last.added if last else 0,
                    "updated": last.updated if last else 0,
                    "withdrawn": last.withdrawn if last else 0,
                    "stale": stale,
                    "state": state,
                    "stale_after": stale_after,
                }
            )
    return statuses
