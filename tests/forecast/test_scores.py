import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.forecast.model import ModelError, fit_model
from risk.forecast.panel import weekly_panel
from risk.forecast.scores import (
    BANDS,
    TOP_BAND_MIN_LEVEL,
    band,
    make_scores,
    score_history,
    score_week,
    skill_status,
    stake,
    with_status,
)
from risk.forecast.target import TARGETS, SurgeTarget
from risk.forecast.training import latest_model, model_metadata, train
from risk.incidents.theatres import Theatres, parse_theatres
from risk.store.database import Store
from risk.store.ingest import ingest_file
from tests.synthetic import synthetic_counts, synthetic_panel

TARGET = SurgeTarget()
COUNTRIES = ["Iraq", "Syria", "Lebanon", "Jordan", "Yemen", "Iran"]
ROOT = Path(__file__).parents[2]


def write_incidents(path: Path) -> None:
    """Synthetic weekly counts spread over the days of each week, as a native log."""
    counts = synthetic_counts(theatres=len(COUNTRIES), weeks=130, seed=4)
    lines = ["date,country,event_type,fatalities,notes"]
    for row in counts.itertuples():
        country = COUNTRIES[int(row.theatre[1:])]
        for i in range(int(row.violent)):
            day = (row.week + pd.Timedelta(days=i % 7)).date().isoformat()
            lines.append(f"{day},{country},battle,{i % 3},event {i}")
    path.write_text("\n".join(lines) + "\n")


def theatres_file(names=COUNTRIES) -> Theatres:
    return Theatres(
        parse_theatres({"theatre": [{"name": n, "countries": [n]} for n in names]}, "test")
    )


@pytest.fixture(scope="module")
def incidents_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scores") / "log.csv"
    write_incidents(path)
    return path


@pytest.fixture
def trained(database_url, incidents_file):
    store = Store(database_url)
    ingest_file(store, incidents_file)
    theatres = theatres_file()
    report = train(store, theatres, TARGET, candidates=("logistic",))
    yield store, theatres, report
    store.dispose()


def test_bands_follow_the_documented_thresholds():
    assert [name for name, _, _ in BANDS] == ["low", "elevated", "high", "severe"]
    assert [band(p) for p in (0.0, 0.149, 0.15, 0.3, 0.499, 0.5, 1.0)] == [
        "low", "low", "elevated", "high", "high", "severe", "severe",
    ]  # fmt: skip


def test_bands_weigh_probability_and_what_is_at_stake():
    target = TARGETS["acled"]
    level = np.array([0.0, 1.0, 2.0, 50.0])
    p = np.array([0.9, 0.9, 0.7, 0.6])
    stakes = stake(p, level, target)
    # A likely rise from 0 or 1 to 2 incidents is not severe; a likely surge on a front is.
    bands = [band(q, s, lv) for q, s, lv in zip(p, stakes, level, strict=True)]
    assert bands == ["elevated", "low", "elevated", "severe"]
    assert stakes[-1] == pytest.approx(0.6 * 50)
    # However large the stake, a theatre under one violent incident a week is not severe.
    assert band(0.99, 100.0, TOP_BAND_MIN_LEVEL - 0.01) == "high"
    default = TARGETS["default"]
    assert stake(np.array([1.0]), np.array([0.0]), default)[0] >= default.min_excess


def test_status_follows_one_rule_for_skill():
    assert skill_status(0.12, False) == "ok"
    assert skill_status(-0.3, False) == "no skill"
    assert skill_status(0.0, False) == "no skill"
    assert skill_status(-775.86, True) == "too few surges"
    assert skill_status(None, False) == "too few surges"


def test_a_theatre_without_recent_data_gets_no_probability():
    panel = synthetic_panel(theatres=4, weeks=120)
    panel["covered"] = True
    week = panel["week"].max() - pd.Timedelta(weeks=5)
    stale = (panel["theatre"] == "T03") & (panel["week"] > week - pd.Timedelta(weeks=3))
    panel.loc[stale, "covered"] = False
    panel.loc[stale, ["violent", "label"]] = np.nan
    model = fit_model(panel, TARGETS["acled"], "levels")
    scored = {s.theatre: s for s in score_week(model, panel, week)}
    assert scored["T03"].status == "no recent data" and scored["T03"].probability is None
    assert scored["T03"].as_json()["probability"] is None
    assert scored["T00"].probability is not None


def test_training_stores_a_model_with_its_backtest(trained):
    store, theatres, report = trained
    meta = model_metadata(store)
    assert meta["version"] == report.model.version
    assert meta["backtest"]["pooled"]["model"]["n"] > 0
    assert {c["candidate"] for c in meta["candidates"]} == {
        "climatology", "persistence", "average", "conflictology", "logistic",
    }  # fmt: skip
    assert meta["backtest"]["selection"] == "nested"
    assert meta["in_use"] == meta["backtest"]["in_use"]
    loaded = latest_model(store, TARGET, theatres)
    assert loaded.version == report.model.version
    assert not loaded.history.empty


def test_scores_for_the_latest_complete_week_are_stored_with_model_and_week(trained):
    store, theatres, report = trained
    result = make_scores(store, theatres, TARGET)
    payload = result.as_json()
    assert set(payload) == {"as_of", "model_version", "target", "in_use", "theatres"}
    assert payload["model_version"] == report.model.version
    assert payload["target"] == "default" and payload["in_use"] == report.backtest.in_use
    assert dt.date.fromisoformat(payload["as_of"]).weekday() == 0
    assert [t["theatre"] for t in payload["theatres"]] == COUNTRIES
    skills = {t["theatre"]: t for t in report.backtest.summary["theatres"]}
    for theatre in payload["theatres"]:
        assert set(theatre) == {
            "theatre", "probability", "band", "expected_incidents", "interval", "drivers", "change",
            "status", "skill", "stake", "level", "changed",
        }  # fmt: skip
        assert 0 < theatre["probability"] < 1
        assert theatre["band"] == band(theatre["probability"], theatre["stake"], theatre["level"])
        backtest = skills[theatre["theatre"]]
        assert theatre["skill"] == (
            None if backtest["skill"] is None else pytest.approx(backtest["skill"], abs=1e-4)
        )
        assert theatre["status"] == skill_status(backtest["skill"], backtest["too_few_positives"])
        low, high = theatre["interval"]
        assert low <= theatre["expected_incidents"] <= high
        for driver in theatre["drivers"]:
            assert {"feature", "contribution", "text"} <= set(driver)
    history = score_history(store)
    assert len(history) == len(COUNTRIES)
    make_scores(store, theatres, TARGET)  # scoring the same week again replaces, not adds
    assert len(score_history(store)) == len(COUNTRIES)


def test_change_is_the_difference_from_the_week_before(trained):
    store, theatres, report = trained
    result = make_scores(store, theatres, TARGET, save=False)
    panel = weekly_panel(store, theatres, TARGET)
    week = pd.Timestamp(result.as_of)
    before = panel[panel["week"] == week - pd.Timedelta(days=7)]
    previous = dict(zip(before["theatre"], report.model.probability(before), strict=True))
    for score in result.theatres:
        assert score.change == pytest.approx(score.probability - previous[score.theatre])


def test_as_of_scores_an_earlier_week_and_history_accumulates(trained):
    store, theatres, _ = trained
    latest = make_scores(store, theatres, TARGET)
    sunday = latest.as_of - dt.timedelta(days=15)  # complete: its week is scored
    earlier = make_scores(store, theatres, TARGET, as_of=sunday)
    assert earlier.as_of == latest.as_of - dt.timedelta(days=21)
    assert set(score_history(store)["as_of"].dt.date) == {latest.as_of, earlier.as_of}
    with pytest.raises(ModelError, match="no complete week"):
        make_scores(store, theatres, TARGET, as_of=dt.date(2000, 1, 1))


def test_model_for_other_theatres_or_settings_is_refused(trained):
    store, _, _ = trained
    with pytest.raises(ModelError, match="other theatre definitions"):
        latest_model(store, TARGET, theatres_file(COUNTRIES[:3]))
    with pytest.raises(ModelError, match="surge settings"):
        latest_model(store, SurgeTarget(min_excess=3), theatres_file())
    with pytest.raises(ModelError, match="surge settings"):
        latest_model(store, TARGETS["acled"], theatres_file())


def test_scoring_without_a_model_says_to_train(sqlite_url, incidents_file):
    store = Store(sqlite_url)
    ingest_file(store, incidents_file)
    with pytest.raises(ModelError, match="python -m risk train"):
        make_scores(store, theatres_file(), TARGET)
    store.dispose()


def test_cli_backtest_and_scores_json(sqlite_url, incidents_file, tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text("".join(f'[[theatre]]\nname = "{c}"\ncountries = ["{c}"]\n' for c in COUNTRIES))
    env = {**os.environ, "RISK_DATABASE_URL": sqlite_url, "RISK_THEATRES": str(toml)}

    def run(*args):
        done = subprocess.run(
            [sys.executable, "-m", "risk", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("ingest", str(incidents_file))
    backtest = json.loads(run("backtest", "--json", "--target", "acled"))
    assert {"target", "folds", "pooled", "theatres"} <= set(backtest)
    assert backtest["target"]["name"] == "acled" and backtest["target"]["min_excess"] == 0
    assert {"horizon": 4, "ratio": 2.0, "min_baseline": 1.0}.items() <= backtest["target"].items()
    assert backtest["selection"] == "nested" and backtest["in_use"]
    assert set(backtest["counts"]) >= {
        "mae", "naive_mae", "crps", "naive_crps", "zero_crps", "coverage",
    }  # fmt: skip
    assert set(backtest["margin_over_levels"]) == {"bss", "roc_auc", "brier"}
    assert {"model", "climatology", "persistence", "average", "conflictology", "levels"} <= set(
        backtest["pooled"]
    )
    for metrics in backtest["pooled"].values():
        assert set(metrics) == {"roc_auc", "average_precision", "brier", "bss", "ece", "n"}
    theatre = backtest["theatres"][0]
    assert {"theatre", "positives", "model", "climatology", "levels", "skill"} <= set(theatre)
    run("train", "--target", "acled")
    scores = json.loads(run("scores", "--json", "--target", "acled"))
    assert {"as_of", "model_version", "theatres"} <= set(scores)
    assert len(scores["theatres"]) == len(COUNTRIES)
    assert {"skill", "status"} <= set(scores["theatres"][0])
    # The stored model was made for "acled": scoring under another target is refused.
    env["RISK_TARGET"] = "default"
    refused = subprocess.run(
        [sys.executable, "-m", "risk", "scores"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "surge settings" in refused.stderr


def test_overview_rows_get_skill_status_and_band_order():
    week = pd.Timestamp("2024-06-03")
    table = pd.DataFrame(
        {
            "theatre": ["A", "B", "C", "D", "E"],
            "week": week,
            "probability": [0.2, 0.7, np.nan, 0.4, 0.1],
            "band": ["elevated", "severe", None, "high", "low"],
        }
    )
    backtest = {
        "theatres": [
            {"theatre": "A", "skill": 0.2, "too_few_positives": False},
            {"theatre": "B", "skill": -775.86, "too_few_positives": True},
            {"theatre": "D", "skill": -0.1, "too_few_positives": False},
            {"theatre": "E", "skill": 0.05, "too_few_positives": False},
        ]
    }
    covered = pd.Series({"A": week, "B": week, "C": week - pd.Timedelta(weeks=3), "D": week})
    shown = with_status(table, backtest, covered)
    assert shown["theatre"].tolist() == ["B", "D", "A", "E", "C"]
    status = dict(zip(shown["theatre"], shown["status"], strict=True))
    assert status == {
        "A": "ok", "B": "too few surges", "C": "no recent data", "D": "no skill", "E": "ok",
    }  # fmt: skip


REAL_UCDP = ROOT.parent / "shared/data/real/ucdp_ged_syria_2016_2019.csv.gz"


@pytest.mark.slow
@pytest.mark.skipif(not REAL_UCDP.exists(), reason=f"real UCDP file not found at {REAL_UCDP}")
def test_a_stale_theatre_beside_a_recent_log_gets_no_probability(tmp_path):
    """Real UCDP Syria (to 2019) plus an analyst's log of one day in 2024: Syria's governorates
    are not scored for 2024 (no data since 2019), and scoring 2019 still works."""
    store = Store(f"sqlite:///{tmp_path / 'mixed.db'}")
    ingest_file(store, REAL_UCDP)
    ingest_file(store, ROOT / "data" / "samples" / "seed-report-2024-01-20.csv")
    from risk.incidents.theatres import load_theatres, theatres_by_admin1
    from risk.store.queries import place_names

    with store.read() as connection:
        places = place_names(connection).values()
    governorates = tmp_path / "governorates.toml"
    governorates.write_text(theatres_by_admin1(places, ["Syria"]), encoding="utf-8")
    theatres = load_theatres(governorates)
    target = TARGETS["default"]
    report = train(store, theatres, target)
    latest = make_scores(store, theatres, target, model=report.model)
    syria = [s for s in latest.theatres if s.theatre.startswith("Syria /")]
    assert syria and all(s.probability is None for s in syria)
    assert {s.status for s in syria} == {"no recent data"}
    past = make_scores(store, theatres, target, model=report.model, as_of=dt.date(2019, 11, 20))
    scored = [s for s in past.theatres if s.probability is not None]
    assert len(scored) >= 10
    assert all(0 <= s.probability <= 1 and s.drivers for s in scored)
