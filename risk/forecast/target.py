"""The surge target: which weeks count as escalation, and the label the model forecasts.

Targets are chosen by name (``--target NAME`` or ``RISK_TARGET``):

``acled``
    ACLED's Subnational Surge Tracker rule as published: violent incidents at least ``ratio``
    times the mean of the four weeks before, that mean being at least ``min_baseline``.
``default``
    ACLED's rule plus a minimum absolute excess: also at least ``min_excess`` (4) violent
    incidents above that mean. A wobble from 1 to 2 (or 3, or 4) a week is not escalation; a
    jump from 40 to 80 is. Chosen by evidence on real governorate-level data (UCDP GED Syria
    2016-2019, README "The escalation model"): it labels under a quarter as many surges as
    ACLED's rule in theatre-weeks averaging under 2 violent incidents, and keeps far more skill
    than the significance rule below.
``significant``
    A significant rise: a count the recent level would reach by chance less than ``alpha`` of
    the time under a negative binomial with dispersion ``dispersion`` (Var = mu + a mu^2), and at
    least ``min_excess`` above that level. Tried as the default; much harder to forecast.

The label at week ``w`` is 1 when a surge week falls in ``w+1 .. w+horizon``, 0 when none does
and every one of those weeks is known, and missing otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from risk.config import Settings

RULES = ("ratio", "significance")
BASELINE_WEEKS = 4


@dataclass(frozen=True)
class SurgeTarget:
    """A surge rule and the forecast horizon (see the module docstring)."""

    name: str = "default"
    rule: str = "ratio"
    horizon: int = 4
    ratio: float = 2.0
    min_baseline: float = 1.0
    min_excess: float = 4.0
    alpha: float = 0.05  # significance rule only
    dispersion: float = 0.1  # significance rule only

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, not {self.rule!r}")
        if not 1 <= self.horizon <= 26:
            raise ValueError(f"horizon must be 1-26 weeks, not {self.horizon}")
        if self.ratio <= 1:
            raise ValueError(f"ratio must be above 1, not {self.ratio}")
        if self.min_baseline < 0:
            raise ValueError(f"min_baseline must be 0 or more, not {self.min_baseline}")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5, not {self.alpha}")
        if self.dispersion <= 0:
            raise ValueError(f"dispersion must be above 0, not {self.dispersion}")
        if self.min_excess < 0:
            raise ValueError(f"min_excess must be 0 or more, not {self.min_excess}")

    def describe(self) -> str:
        """The definition in words, for the README, the model page and the CLI."""
        violent = (
            "violent incidents (battles, explosions and remote violence, violence against "
            "civilians, riots, and excessive force against protesters)"
        )
        ahead = (
            f" The forecast is the probability that at least one surge week happens in the "
            f"next {self.horizon} weeks."
        )
        if self.rule == "ratio":
            excess = (
                f", and at least {self.min_excess:g} more than that average (so a wobble at a "
                "handful of incidents a week is not a surge)"
                if self.min_excess > 0
                else ""
            )
            about = (
                "ACLED's surge rule as published"
                if self.min_excess == 0
                else "ACLED's surge rule with a minimum rise"
            )
            return (
                f'Target "{self.name}" ({about}): a theatre surges in a week when its {violent} '
                f"are at least {self.ratio:g} times its weekly average over the four weeks "
                f"before{excess}, and that average is at least {self.min_baseline:g} a week."
                + ahead
            )
        return (
            f'Target "{self.name}" (a significant rise): a theatre surges in a week when its '
            f"{violent} are at least {self.min_excess:g} above its weekly average over the four "
            f"weeks before, and so far above it that ordinary week-to-week variation at that "
            f"level (a negative binomial with that mean and variance mean + "
            f"{self.dispersion:g} x mean squared) would reach it less than {self.alpha:.0%} of "
            f"the time. At 1 a week a surge takes at least {self.threshold_at(1.0):.0f}, at 10 "
            f"a week {self.threshold_at(10.0):.0f}, at 50 a week {self.threshold_at(50.0):.0f}."
            + ahead
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def threshold(self, baseline: np.ndarray) -> np.ndarray:
        """The smallest weekly count that is a surge after this baseline (inf: none is)."""
        baseline = np.asarray(baseline, dtype=float)
        if self.rule == "ratio":
            needed = np.maximum(self.ratio * baseline, baseline + self.min_excess)
            return np.where(baseline >= self.min_baseline, needed, np.inf)
        # Baselines are means of whole counts, so few distinct values: compute each once.
        values, inverse = np.unique(np.nan_to_num(baseline, nan=0.0), return_inverse=True)
        size = 1 / self.dispersion
        mean = np.clip(values, 1e-9, None)
        from scipy import stats  # here: importing SciPy costs every CLI command a second

        # sf(v - 1) < alpha  <=>  v - 1 >= ppf(1 - alpha), for the smallest such v.
        tail = stats.nbinom.ppf(1 - self.alpha, size, size / (size + mean)) + 1
        needed = np.maximum(tail, np.ceil(values + self.min_excess - 1e-9))
        result = needed[inverse.reshape(-1)].reshape(baseline.shape)
        return np.where(np.isnan(baseline), np.nan, result)

    def threshold_at(self, level: float) -> float:
        return float(self.threshold(np.array([level]))[0])

    def rise(self, level: np.ndarray) -> np.ndarray:
        """How many violent incidents above a weekly ``level`` a surge week takes.

        Under the ratio rule a level below the minimum baseline must first reach it.
        """
        level = np.asarray(level, dtype=float)
        floor = np.maximum(level, self.min_baseline) if self.rule == "ratio" else level
        return self.threshold(floor) - level

    def with_horizon(self, horizon: int) -> SurgeTarget:
        return replace(self, horizon=horizon)


TARGETS: dict[str, SurgeTarget] = {
    "acled": SurgeTarget(name="acled", min_excess=0.0),
    "default": SurgeTarget(),
    "significant": SurgeTarget(name="significant", rule="significance", min_excess=5.0),
}


def make_target(
    name: str = "default",
    *,
    horizon: int | None = None,
    ratio: float | None = None,
    min_baseline: float | None = None,
) -> SurgeTarget:
    """The named target, with the given settings changed (ValueError when a value is bad)."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; use one of {', '.join(TARGETS)}")
    changes = {"horizon": horizon, "ratio": ratio, "min_baseline": min_baseline}
    return replace(TARGETS[name], **{k: v for k, v in changes.items() if v is not None})


def settings_target(settings: Settings) -> SurgeTarget:
    """The target the settings name (``RISK_TARGET``), with their surge settings applied."""
    return make_target(
        settings.target,
        horizon=settings.surge_horizon,
        ratio=settings.surge_ratio,
        min_baseline=settings.surge_min_baseline,
    )


def surge_weeks(violent: pd.Series, target: SurgeTarget) -> pd.Series:
    """1.0 / 0.0 per week of one theatre's weekly violent counts (consecutive, in order).

    NaN where the week or one of the four before is not covered by the data (unknown); the
    first four weeks of a theatre have no baseline and are not surges.
    """
    violent = violent.astype(float)
    baseline = violent.shift(1).rolling(BASELINE_WEEKS, min_periods=BASELINE_WEEKS).mean()
    limit = target.threshold(baseline.to_numpy())
    surge = pd.Series(
        np.where(np.isnan(limit), 0.0, (violent.to_numpy() >= limit).astype(float)),
        index=violent.index,
    )
    unknown = violent.isna().astype(float).rolling(BASELINE_WEEKS + 1, min_periods=1).max() > 0
    return surge.mask(unknown)


def surge_labels(surge: pd.Series, horizon: int) -> pd.Series:
    """1.0 when a surge week falls in the next ``horizon`` weeks, 0.0 when none does and all are
    known, NaN where the future is not yet known or a week in it is not covered."""
    reverse = surge.astype(float)[::-1]
    any_surge = reverse.rolling(horizon, min_periods=1).max()[::-1].shift(-1)
    known = reverse.notna().astype(float).rolling(horizon, min_periods=horizon).sum()[::-1]
    known = known.shift(-1)
    label = pd.Series(np.nan, index=surge.index)
    label[known == horizon] = 0.0
    label[(any_surge == 1) & known.notna()] = 1.0
    return label
