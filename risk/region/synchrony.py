"""Synchrony: how the theatres move together. Per week, how many are above their normal level;
days on which three or more theatres had violent incidents by actors of one group; lead-lag
correlations between theatres' weekly series; how often a surge in one theatre is followed by
one in another.

"Normal" is the heat strip's yardstick (risk.store.queries.region_heat): the mean of the four
weeks before. A theatre is *above normal* in a week when its violent incidents are at least
``ratio`` times that mean (default 1.5) and the mean is at least the surge rule's minimum.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from risk.incidents.theatres import OTHER, Theatres
from risk.region.actors import ActorGroups
from risk.store.database import Store, incidents
from risk.store.queries import region_heat, theatre_column

ABOVE_RATIO = 1.5


def weekly_synchrony(
    panel: pd.DataFrame, *, ratio: float = ABOVE_RATIO, min_baseline: float = 1.0
) -> pd.DataFrame:
    """Per week: theatres with data, how many were above normal, how many surged, and which.

    Columns: week, theatres, above, surging, above_names (list).
    """
    columns = ["week", "theatres", "above", "surging", "above_names"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    heat = region_heat(panel, weeks=len(panel["week"].unique()) + 1)
    heat["above"] = (heat["baseline"] >= min_baseline) & (
        heat["violent"] >= ratio * heat["baseline"]
    )
    grouped = heat.groupby("week", sort=True)
    frame = pd.DataFrame(
        {
            "theatres": grouped["theatre"].nunique(),
            "above": grouped["above"].sum().astype("int64"),
            "surging": grouped["surge"].sum().astype("int64"),
            "above_names": grouped.apply(
                lambda g: g.loc[g["above"], "theatre"].tolist(), include_groups=False
            ),
        }
    ).reset_index()
    return frame[columns]


def linked_days(
    store: Store,
    theatres: Theatres,
    groups: ActorGroups,
    *,
    group: str,
    min_theatres: int = 3,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Days on which ``min_theatres`` or more theatres had violent incidents by ``group``'s actors.

    An incident counts when its actor1 or actor2 belongs to the group. Columns: date, theatres
    (count), theatre_names, incidents, fatalities, actors (the group's members seen that day).
    """
    columns = ["date", "theatres", "theatre_names", "incidents", "fatalities", "actors"]
    conditions = [incidents.c.violent]
    if start is not None:
        conditions.append(incidents.c.event_date >= start)
    if end is not None:
        conditions.append(incidents.c.event_date <= end)
    with store.read() as connection:
        # Distinct actor names are few (thousands) against many incidents: match each once,
        # then fetch only the group's incidents, grouped by day, theatre and actors in SQL.
        names = connection.execute(
            sa.union(
                sa.select(incidents.c.actor1.label("actor")).where(*conditions),
                sa.select(incidents.c.actor2).where(*conditions),
            )
        ).scalars()
        member = {}
        for name in names:
            found = groups.match(name) if name else None
            if found is not None and found[0] == group:
                member[name] = found[1]
        if not member:
            return pd.DataFrame(columns=columns)
        spellings = sa.bindparam("spellings", sorted(member), expanding=True)
        theatre = theatre_column(connection, theatres)
        rows = connection.execute(
            sa.select(
                incidents.c.event_date,
                theatre,
                incidents.c.actor1,
                incidents.c.actor2,
                sa.func.count(),
                sa.func.sum(incidents.c.fatalities),
            )
            .where(
                *conditions,
                sa.or_(incidents.c.actor1.in_(spellings), incidents.c.actor2.in_(spellings)),
            )
            .group_by(
                incidents.c.event_date,
                sa.literal_column("theatre"),
                incidents.c.actor1,
                incidents.c.actor2,
            )
        ).all()
    frame = pd.DataFrame(
        rows, columns=["date", "theatre", "actor1", "actor2", "incidents", "fatalities"]
    )
    frame = frame[frame["theatre"] != OTHER]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(member=frame["actor1"].map(member).fillna(frame["actor2"].map(member)))
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    by_day = frame.groupby("date", sort=True)
    days = pd.DataFrame(
        {
            "theatres": by_day["theatre"].nunique(),
            "theatre_names": by_day["theatre"].agg(lambda s: sorted(set(s), key=list(s).index)),
            "incidents": by_day["incidents"].sum().astype("int64"),
            "fatalities": by_day["fatalities"].sum().astype("int64"),
            "actors": by_day["member"].agg(lambda s: sorted(set(s))),
        }
    ).reset_index()
    order = {name: i for i, name in enumerate(theatres.names)}
    days["theatre_names"] = [
        sorted(n, key=lambda t: order.get(t, 0)) for n in days["theatre_names"]
    ]
    return days[days["theatres"] >= min_theatres][columns].reset_index(drop=True)


def _anomalies(panel: pd.DataFrame) -> pd.DataFrame:
    """Week x theatre: log violent incidents against their own 12 weeks before.

    Deviations, not levels: two theatres that merely share a trend would otherwise correlate.
    """
    wide = panel.pivot(index="week", columns="theatre", values="violent").sort_index()
    logged = np.log1p(wide)
    return logged - logged.shift(1).rolling(12, min_periods=8).mean()


def lead_lag(panel: pd.DataFrame, max_lag: int = 4, min_weeks: int = 26) -> pd.DataFrame:
    """For each ordered pair of theatres, the correlation of A's weekly anomaly with B's
    ``lag`` weeks later, for lags 0..max_lag; the strongest lag per pair.

    Columns: leader, follower, lag, correlation, weeks, same_week (the lag-0 correlation).
    Pairs with fewer than ``min_weeks`` common weeks are left out.
    """
    columns = ["leader", "follower", "lag", "correlation", "weeks", "same_week"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    anomalies = _anomalies(panel)
    names = list(dict.fromkeys(panel["theatre"]))
    rows = []
    for a in names:
        for b in names:
            if a == b:
                continue
            best = None
            same = None
            for lag in range(max_lag + 1):
                pair = pd.concat([anomalies[a], anomalies[b].shift(-lag)], axis=1).dropna()
                if (
                    len(pair) < min_weeks
                    or pair.iloc[:, 0].std() == 0
                    or pair.iloc[:, 1].std() == 0
                ):
                    continue
                r = float(pair.iloc[:, 0].corr(pair.iloc[:, 1]))
                if lag == 0:
                    same = r
                if best is None or abs(r) > abs(best[1]):
                    best = (lag, r, len(pair))
            if best is not None:
                rows.append([a, b, best[0], best[1], best[2], same])
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("correlation", key=np.abs, ascending=False).reset_index(drop=True)


def co_surges(panel: pd.DataFrame, within: int = 4) -> pd.DataFrame:
    """How often a surge week in A is followed by one in B within ``within`` weeks.

    Columns: after (A), then (B), a_surges (A's surge weeks with ``within`` weeks of B
    observed after), followed (how many were followed by a B surge), probability, base_rate
    (B's chance of a surge in any ``within``-week window), lift (probability / base_rate).
    """
    columns = ["after", "then", "a_surges", "followed", "probability", "base_rate", "lift"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    wide = panel.pivot(index="week", columns="theatre", values="surge").sort_index()
    observed = panel.pivot(index="week", columns="theatre", values="violent").sort_index().notna()
    # ahead[b] at week t: a surge of b in t+1 .. t+within (NaN when b not observed throughout).
    surge = wide.astype(float).where(observed)
    ahead = surge[::-1].rolling(within, min_periods=within).max()[::-1].shift(-1)
    names = list(dict.fromkeys(panel["theatre"]))
    rows = []
    for a in names:
        surged = wide[a].fillna(False).astype(bool)
        for b in names:
            if a == b:
                continue
            after = ahead[b][surged & observed[a]].dropna()
            base = ahead[b].dropna()
            if after.empty or base.empty:
                continue
            probability = float(after.mean())
            base_rate = float(base.mean())
            rows.append(
                [
                    a,
                    b,
                    len(after),
                    int(after.sum()),
                    probability,
                    base_rate,
                    probability / base_rate if base_rate > 0 else np.nan,
                ]
            )
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class Synchrony:
    """Everything the synchrony view shows."""

    weekly: pd.DataFrame
    days: pd.DataFrame
    lead_lag: pd.DataFrame
    co_surges: pd.DataFrame
    group: str
    min_theatres: int
    within: int
    ratio: float


def synchrony(
    store: Store,
    theatres: Theatres,
    panel: pd.DataFrame,
    groups: ActorGroups,
    *,
    group: str,
    min_theatres: int = 3,
    within: int = 4,
    ratio: float = ABOVE_RATIO,
    min_baseline: float = 1.0,
) -> Synchrony:
    if group not in groups.groups:
        raise ValueError(
            f"no actor group {group!r} in the actor groups file; choose one of "
            f"{', '.join(groups.groups)}"
        )
    return Synchrony(
        weekly=weekly_synchrony(panel, ratio=ratio, min_baseline=min_baseline),
        days=linked_days(store, theatres, groups, group=group, min_theatres=min_theatres),
        lead_lag=lead_lag(panel),
        co_surges=co_surges(panel, within),
        group=group,
        min_theatres=min_theatres,
        within=within,
        ratio=ratio,
    )
