"""Synthetic weekly counts with a learnable signal, for model and backtest tests."""

import numpy as np
import pandas as pd

from risk.forecast.panel import build_panel
from risk.forecast.target import SurgeTarget


def synthetic_counts(theatres: int = 10, weeks: int = 170, seed: int = 0) -> pd.DataFrame:
    """Poisson weekly counts around each theatre's level, with flare-ups announced by a build-up."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-01-04")
    frames = []
    for t in range(theatres):
        level = rng.uniform(2, 12)
        rate = np.full(weeks, level)
        for onset in rng.choice(np.arange(8, weeks - 6), size=weeks // 25, replace=False):
            rate[onset - 2 : onset] *= 1.5  # precursor
            rate[onset : onset + 2] *= 3.5  # flare-up
        violent = rng.poisson(rate)
        frames.append(
            pd.DataFrame(
                {
                    "theatre": f"T{t:02d}",
                    "week": start + pd.to_timedelta(np.arange(weeks) * 7, unit="D"),
                    "category": "battle",
                    "incidents": violent,
                    "violent": violent,
                    "fatalities": rng.poisson(violent * 0.5),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def synthetic_panel(theatres: int = 10, weeks: int = 170, seed: int = 0, target=None):
    counts = synthetic_counts(theatres, weeks, seed)
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    order = sorted(counts["theatre"].unique())
    return build_panel(counts, actors, target or SurgeTarget(), order)
