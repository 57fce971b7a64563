"""Training: build the panel, run the nested backtest, fit the forecaster it chose, keep it.

The model in use is the newest in the store. It carries its backtest (metrics against every
baseline and the out-of-sample forecasts per theatre-week), so the dashboard shows how good it
is without recomputing anything. When a baseline forecasts best, the baseline is what is kept.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from risk.forecast.backtest import BacktestResult, select_model
from risk.forecast.model import (
    ModelError,
    SurgeModel,
    dump_model,
    fit_model,
    load_model_bytes,
)
from risk.forecast.panel import weekly_panel
from risk.forecast.target import SurgeTarget
from risk.incidents.theatres import Theatres
from risk.store.database import Store, models, utc_now


def theatres_digest(theatres: Theatres) -> str:
    """Identifies the theatre definitions (not the file's comments or layout)."""
    text = json.dumps(
        [list(map(str, (t.name, t.countries, t.regions, t.boxes))) for t in theatres.theatres]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class TrainReport:
    model: SurgeModel
    backtest: BacktestResult
    candidates: list[dict[str, Any]]
    seconds: dict[str, float]


def train(
    store: Store,
    theatres: Theatres,
    target: SurgeTarget,
    *,
    panel: pd.DataFrame | None = None,
    save: bool = True,
    candidates: tuple[str, ...] | None = None,
) -> TrainReport:
    """Choose, fit and (unless ``save`` is False) store a model; ModelError when data is thin.

    ``candidates`` limits the model candidates the nested backtest compares (the baselines
    are always compared); default: all of risk.forecast.model.CANDIDATES.
    """
    clock = time.perf_counter()
    if panel is None:
        panel = weekly_panel(store, theatres, target)
    panel_seconds = time.perf_counter() - clock
    best, compared = select_model(panel, target, candidates)
    backtest_seconds = time.perf_counter() - clock - panel_seconds
    model = fit_model(
        panel,
        target,
        best.in_use,
        count_source=best.count_source,
        calibration=best.calibration,
        calibrator=best.calibrators.get(best.in_use),
        coverage_goal=best.coverage_goal,
    )
    created = utc_now()
    model.history = best.predictions[
        ["theatre", "week", "label", "model", "climatology", "expected", "lower", "upper"]
    ].copy()
    model.metadata.update(
        version=f"{created:%Y%m%dT%H%M%S}-{best.in_use}",
        created_at=created.isoformat(),
        theatres_digest=theatres_digest(theatres),
        backtest=best.as_json(),
        candidates=compared,
    )
    fit_seconds = time.perf_counter() - clock - panel_seconds - backtest_seconds
    if save:
        save_model(store, model)
    seconds = {"panel": panel_seconds, "backtest": backtest_seconds, "fit": fit_seconds}
    return TrainReport(model, best, compared, seconds)


def save_model(store: Store, model: SurgeModel) -> None:
    with store.write() as connection:
        connection.execute(
            models.insert().values(
                version=model.version,
                created_at=utc_now(),
                metadata=json.dumps(model.metadata, default=str),
                artifact=dump_model(model),
            )
        )


def model_metadata(store: Store) -> dict[str, Any] | None:
    """The newest model's metadata (cheap: nothing is unpickled), or None."""
    with store.read() as connection:
        row = connection.execute(
            sa.select(models.c.metadata).order_by(models.c.id.desc()).limit(1)
        ).first()
    return json.loads(row.metadata) if row else None


def latest_model(store: Store, target: SurgeTarget, theatres: Theatres) -> SurgeModel:
    """The newest model, refused with a clear message when it no longer fits the settings."""
    with store.read() as connection:
        row = connection.execute(
            sa.select(models.c.metadata, models.c.artifact).order_by(models.c.id.desc()).limit(1)
        ).first()
    if row is None:
        raise ModelError("no trained model yet; train one with: python -m risk train")
    metadata = json.loads(row.metadata)
    if metadata.get("theatres_digest") != theatres_digest(theatres):
        raise ModelError(
            f"the stored model {metadata.get('version')} was trained for other theatre "
            "definitions; retrain it with: python -m risk train"
        )
    return load_model_bytes(row.artifact, metadata, target)
