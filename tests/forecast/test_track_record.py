"""Track record: stored scores resolved against the panel's outcomes, out of sample apart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from risk.forecast.target import SurgeTarget
from risk.forecast.track_record import WARNING_PROBABILITY, track_record
from risk.store.database import Store, models, scores, utc_now
from tests.synthetic import synthetic_panel

TARGET = SurgeTarget()


def add_model(store: Store, version: str, trained_to: pd.Timestamp) -> None:
    metadata = {"version": version, "training_window": ["2021-01-04", f"{trained_to.date()}"]}
    with store.write() as connection:
        connection.execute(
            models.insert().values(
                version=version,
                created_at=utc_now(),
                metadata=json.dumps(metadata),
                artifact=b"",
            )
        )


def add_scores(store: Store, version: str, rows: pd.DataFrame) -> None:
    with store.write() as connection:
        connection.execute(
            scores.insert(),
            [
                {
                    "model_version": version,
                    "as_of": r.week.date(),
                    "theatre": r.theatre,
                    "probability": float(r.probability),
                    "band": "low",
                    "expected": 10.0,
                    "lower": float(r.lower),
                    "upper": float(r.upper),
                    "change": None,
                    "drivers": "[]",
                    "created_at": utc_now(),
                }
                for r in rows.itertuples()
            ],
        )


@pytest.fixture
def panel():
    return synthetic_panel(theatres=3, weeks=60, seed=3)


def test_out_of_sample_forecasts_are_scored_and_replays_kept_apart(database_url, panel):
    store = Store(database_url)
    weeks = sorted(panel["week"].unique())
    add_model(store, "old", weeks[20])
    add_model(store, "new", weeks[55])
    live = panel[panel["week"].between(weeks[30], weeks[40])].copy()
    live["probability"] = np.where(live["label"] == 1, 0.9, 0.1)
    # Half of the count intervals hold the outcome.
    inside = np.arange(len(live)) % 2 == 0
    live["lower"] = np.where(inside, live["future_violent"] - 1, live["future_violent"] + 1)
    live["upper"] = live["future_violent"] + 5
    add_scores(store, "old", live)
    # The newer model replays weeks it was trained on: in sample, never the record.
    replay = panel[panel["week"].between(weeks[30], weeks[45])].assign(
        probability=0.5, lower=0.0, upper=1e6
    )
    add_scores(store, "new", replay)
    unresolved = panel[panel["week"] == weeks[58]].assign(probability=0.3, lower=0.0, upper=1.0)
    add_scores(store, "new", unresolved)

    record = track_record(store, panel, TARGET, [{"forecast": 0.1, "observed": 0.1, "n": 5}])
    assert record.forecasts == len(live) + len(replay) + len(unresolved)
    assert record.resolved == len(live)
    assert record.in_sample_resolved == len(replay) - len(live)  # weeks 41-45
    assert record.brier == pytest.approx(0.01)
    assert record.coverage == pytest.approx(inside.mean())

    # Climatology: the theatre's outcome rate over weeks resolved by the forecast week.
    expected = []
    for row in live.itertuples():
        own = panel[
            (panel["theatre"] == row.theatre) & (panel["week"] <= row.week - pd.Timedelta(weeks=4))
        ]
        rate = own["label"].mean()
        expected.append((row.label - (panel["label"].mean() if np.isnan(rate) else rate)) ** 2)
    assert record.climatology_brier == pytest.approx(np.mean(expected))
    assert record.skill == pytest.approx(1 - 0.01 / np.mean(expected))

    per = record.theatres.set_index("theatre")
    for theatre, group in live.groupby("theatre"):
        surged = group["label"] == 1
        warned = group["probability"] >= WARNING_PROBABILITY
        assert per.loc[theatre, "hits"] == (surged & warned).sum()
        assert per.loc[theatre, "misses"] == (surged & ~warned).sum()
        assert per.loc[theatre, "false_alarms"] == (~surged & warned).sum()
    payload = record.as_json()
    assert {"forecasts", "resolved", "brier", "climatology_brier", "coverage"} <= set(payload)
    assert payload["backtest_reliability"] == [{"forecast": 0.1, "observed": 0.1, "n": 5}]
    assert sum(point["n"] for point in payload["reliability"]) == len(live)
    store.dispose()


def test_an_empty_store_has_an_empty_record(sqlite_url, panel):
    store = Store(sqlite_url)
    record = track_record(store, panel, TARGET)
    assert record.forecasts == 0 and record.resolved == 0
    assert record.brier is None and record.skill is None
    assert record.as_json()["theatres"] == []
    store.dispose()
