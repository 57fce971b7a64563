"""The weekly theatre panel: counts per theatre and ISO week, features, and the surge labels.

The counts are stored per place and week and kept up to date by every load and undo
(:mod:`risk.store.cells`), so the panel of a store with a million incidents is built from a few
thousand stored rows, without recounting the incidents. Every feature at week ``w`` uses
only weeks up to ``w``; labels look ahead ``horizon`` weeks and are missing where the future is
not yet known.

Real data has holes and overlaps (README, "Coverage, sources and precision"): a theatre-week
that no committed load covers is missing (``covered`` False, counts NaN), never zero; a week
covered by several sources is counted from one (``source``), the highest in the theatres file's
priority; events dated only to a span longer than a week are left out of weekly counts.

Tried on real data and not used by the model (they did not improve the nested backtest on UCDP
GED Syria at governorate level, README "The escalation model"), but kept in the panel for
re-evaluation on ACLED data: event-type mix (``remote_share_4``, ``strategic_share_4``; UCDP
has no event types, so untestable there), ``actors_vs_year`` and the spatial lag over the
nearest theatres by incident centroid (``neighbours_ratio_4_12``, ``neighbours_surging_4``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from risk.config import ADMIN1_ALIASES_PATH, COUNTRIES_PATH
from risk.forecast import target as target_module
from risk.forecast.target import SurgeTarget, surge_labels, surge_weeks
from risk.incidents import places as places_module
from risk.incidents import theatres as theatres_module
from risk.incidents.places import load_country_index
from risk.incidents.schema import CATEGORIES
from risk.incidents.theatres import DEFAULT_SOURCES, OTHER, Theatres
from risk.store import cells
from risk.store.database import Store
from risk.store.queries import coverage_ranges, data_version


def weekly_counts(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Long frame: theatre, week, source, category, incidents, violent, fatalities.

    Read from the stored weekly counts (:mod:`risk.store.cells`), not recounted. Events dated
    only to a span longer than a week (``week_precise`` false) are left out.
    """
    return cells.weekly_counts(store, theatres)


def weekly_actors(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Distinct actors (actor1 or actor2) per theatre, week and source (stored counts)."""
    return cells.weekly_actors(store, theatres)


def theatre_places(store: Store, theatres: Theatres) -> list[tuple[str, str, int]]:
    """(theatre, country as stored, incidents) for every pair that occurs (stored counts)."""
    return cells.theatre_places(store, theatres)


def theatre_countries(
    store: Store, theatres: Theatres, rows: list[tuple[str, str, int]] | None = None
) -> dict[str, str]:
    """Each theatre's main country (the one holding most of its incidents), as a country key.

    Theatres sharing a main country are peers: with governorates as theatres, a flare-up
    often moves through a country's units together.
    """
    rows = theatre_places(store, theatres) if rows is None else rows
    index = load_country_index()
    best: dict[str, tuple[int, str]] = {}
    for name, country, count in rows:
        if country and count > best.get(name, (-1, ""))[0]:
            best[name] = (count, index.key(country))
    return {name: key for name, (_, key) in best.items()}


def covered_countries(theatres: Theatres, rows: list[tuple[str, str, int]]) -> dict[str, set[str]]:
    """Country keys whose coverage counts for each theatre: those it names and those its
    incidents come from (a sea box has no country of its own)."""
    index = load_country_index()
    found: dict[str, set[str]] = {
        name: theatres.declared_countries(name) for name in theatres.names
    }
    for name, country, _ in rows:
        found.setdefault(name, set()).add(index.key(country or ""))
    return found


def weekly_coverage(
    ranges: pd.DataFrame, countries: dict[str, set[str]], today: dt.date | None = None
) -> pd.DataFrame:
    """Days of each week that each source covers per theatre: theatre, week, source, days.

    ``ranges`` is :func:`risk.store.queries.coverage_ranges`; a source covers a theatre on the
    days it covers any of the theatre's ``countries``. Coverage stops at ``today``.
    """
    columns = ["theatre", "week", "source", "days"]
    if ranges.empty:
        return pd.DataFrame(columns=columns)
    index = load_country_index()
    today = today or dt.date.today()
    keys = [index.key(c or "") for c in ranges["country"]]
    ranges = ranges.assign(key=keys, last_date=ranges["last_date"].map(lambda d: min(d, today)))
    ranges = ranges[ranges["first_date"] <= ranges["last_date"]]
    if ranges.empty:
        return pd.DataFrame(columns=columns)
    first = min(ranges["first_date"])
    start = first - dt.timedelta(days=first.weekday())
    last = max(ranges["last_date"])
    n_weeks = (last - start).days // 7 + 1
    weeks = pd.date_range(start, periods=n_weeks, freq="7D").as_unit("us")
    frames = []
    for theatre, keys_of_theatre in countries.items():
        mine = ranges[ranges["key"].isin(keys_of_theatre)]
        for source, part in mine.groupby("source", sort=True):
            covered = np.zeros(n_weeks * 7, dtype=bool)
            for a, b in zip(part["first_date"], part["last_date"], strict=True):
                covered[(a - start).days : (b - start).days + 1] = True
            days = covered.reshape(n_weeks, 7).sum(axis=1)
            keep = days > 0
            frames.append(
                pd.DataFrame(
                    {"theatre": theatre, "week": weeks[keep], "source": source, "days": days[keep]}
                )
            )
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def theatre_coverage_end(store: Store, theatres: Theatres) -> dict[str, dt.date]:
    """Per theatre, the last day any committed load covers (for "no data since DATE")."""
    ranges = coverage_ranges(store)
    if ranges.empty:
        return {}
    index = load_country_index()
    last_by_key: dict[str, dt.date] = {}
    for country, last in zip(ranges["country"], ranges["last_date"], strict=True):
        key = index.key(country or "")
        last_by_key[key] = max(last, last_by_key.get(key, last))
    countries = covered_countries(theatres, theatre_places(store, theatres))
    return {
        name: max(last_by_key[k] for k in keys if k in last_by_key)
        for name, keys in countries.items()
        if any(k in last_by_key for k in keys)
    }


def choose_sources(
    coverage: pd.DataFrame, priority: Callable[[str], tuple[str, ...]]
) -> pd.DataFrame:
    """The source that counts each covered theatre-week: theatre, week, source, days.

    A source covering the whole week beats one covering part of it; among those, the first in
    the theatre's ``priority`` wins (sources it does not list come after, by name); among
    partial ones, the one covering more days.
    """
    if coverage.empty:
        return pd.DataFrame(columns=["theatre", "week", "source", "days"])
    pairs = coverage[["theatre", "source"]].drop_duplicates()
    rank = {}
    for theatre, source in pairs.itertuples(index=False, name=None):
        order = priority(theatre)
        rank[(theatre, source)] = order.index(source) if source in order else len(order)
    full = coverage["days"] >= 7
    ranked = coverage.assign(
        _full=full,
        _days=np.where(full, 0, -coverage["days"].astype(int)),
        _rank=[rank[pair] for pair in zip(coverage["theatre"], coverage["source"], strict=True)],
    )
    ranked = ranked.sort_values(
        ["theatre", "week", "_full", "_days", "_rank", "source"],
        ascending=[True, True, False, True, True, True],
    )
    chosen = ranked.drop_duplicates(["theatre", "week"], keep="first")
    return chosen[["theatre", "week", "source", "days"]].reset_index(drop=True)


def theatre_centroids(store: Store, theatres: Theatres) -> dict[str, tuple[float, float]]:
    """Each theatre's incident centroid (mean latitude and longitude), for neighbour features."""
    return cells.theatre_centroids(store, theatres)


NEIGHBOURS = 3


def nearest_neighbours(
    centroids: dict[str, tuple[float, float]], count: int = NEIGHBOURS
) -> dict[str, list[str]]:
    """The ``count`` theatres whose centroids are nearest each theatre's (great-circle)."""
    names = list(centroids)
    if len(names) < 2:
        return {name: [] for name in names}
    lat, lon = np.radians(np.array([centroids[n] for n in names])).T
    # Haversine distances between every pair of centroids.
    a = (
        np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
        + np.cos(lat[:, None])
        * np.cos(lat[None, :])
        * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2
    )
    distance = 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    np.fill_diagonal(distance, np.inf)
    order = np.argsort(distance, axis=1)[:, : min(count, len(names) - 1)]
    return {name: [names[j] for j in order[i]] for i, name in enumerate(names)}


def _change_category(current: pd.Series, baseline: pd.Series) -> pd.Series:
    """ACLED's change map: -1 large decrease, 0 limited, 1 moderate, 2 large increase."""
    change = (current - baseline) / baseline.where(baseline > 0)
    category = pd.Series(0, index=current.index, dtype="int64")
    category[change > 0.10] = 1
    category[change > 0.25] = 2
    category[change < -0.25] = -1
    category[(baseline == 0) & (current > 0)] = 2
    # Units averaging at most 2 events with at most 5 in the latest week: limited change.
    category[(baseline <= 2) & (current <= 5)] = 0
    return category


# 200 futures: the probability to within about 0.035, at half the cost of 400 (a 100-theatre,
# 10-year panel must rebuild in under two minutes).
SIMULATIONS = 200


def _count_noise_surge_probability(
    violent: pd.Series, level: pd.Series, variance: pd.Series, target: SurgeTarget
) -> pd.Series:
    """P(the surge rule fires within the horizon) if coming weeks were noise around ``level``.

    Simulates ``SIMULATIONS`` futures per week: negative binomial counts with the theatre's
    expected level and its own variance over the past year, appended to the four weeks
    actually observed, then applies the surge rule exactly. A quiet last month lowers the bar
    for next week; a level near the minimum baseline makes surges easy. The model learns how
    far real escalation departs from this. Seeded, so the same data gives the same panel.
    """
    rng = np.random.default_rng(20240120)
    mean = level.clip(lower=1e-3).to_numpy()
    excess = np.clip(variance.fillna(level).to_numpy() - mean, 1e-6, None)
    size = np.clip(mean**2 / excess, 0.05, 1e4)
    # Uncovered weeks in the last four are taken at the expected level, not as zeros.
    history = np.column_stack(
        [violent.shift(lag).fillna(level).fillna(0).to_numpy() for lag in (3, 2, 1, 0)]
    )
    draws = rng.negative_binomial(
        size[:, None, None],
        (size / (size + mean))[:, None, None],
        (len(mean), SIMULATIONS, target.horizon),
    ).astype(float)
    weeks = np.concatenate(
        [np.broadcast_to(history[:, None, :], (len(mean), SIMULATIONS, 4)), draws], axis=2
    )
    surged = np.zeros((len(mean), SIMULATIONS), dtype=bool)
    for step in range(target.horizon):
        baseline = weeks[:, :, step : step + 4].mean(axis=2)
        count = weeks[:, :, step + 4]
        surged |= count >= target.threshold(baseline)
    return pd.Series(surged.mean(axis=1), index=violent.index)


def _theatre_features(group: pd.DataFrame, target: SurgeTarget) -> pd.DataFrame:
    group = group.sort_values("week").copy()
    violent = group["violent"].astype(float)
    for window in (1, 4, 12, 52):
        group[f"violent_mean_{window}"] = violent.rolling(window, min_periods=1).mean()
    recent = violent.rolling(4, min_periods=1).mean()
    before = violent.shift(4).rolling(12, min_periods=1).mean()
    group["ratio_4_12"] = (recent + 0.5) / (before.fillna(0) + 0.5)
    group["fatalities_mean_4"] = group["fatalities"].rolling(4, min_periods=1).mean()
    group["incidents_mean_4"] = group["incidents"].rolling(4, min_periods=1).mean()
    group["actors_mean_4"] = group["actors"].rolling(4, min_periods=1).mean()
    group["fatalities_per_violent_4"] = group["fatalities_mean_4"] / (recent + 1)
    # Event-type mix over the last 4 weeks: shelling and air strikes (remote violence), and
    # strategic developments such as troop movements, which often precede fighting.
    violent_4 = violent.rolling(4, min_periods=1).sum()
    incidents_4 = group["incidents"].astype(float).rolling(4, min_periods=1).sum()
    remote_4 = group["n_remote_violence"].astype(float).rolling(4, min_periods=1).sum()
    strategic_4 = group["n_strategic"].astype(float).rolling(4, min_periods=1).sum()
    group["remote_share_4"] = remote_4 / (violent_4 + 1)
    group["strategic_share_4"] = strategic_4 / (incidents_4 + 1)
    # More distinct actors than over the past year: new actors entering.
    actors = group["actors"].astype(float)
    group["actors_vs_year"] = (actors.rolling(4, min_periods=1).mean() + 0.5) / (
        actors.rolling(52, min_periods=1).mean() + 0.5
    )
    std_52 = violent.rolling(52, min_periods=8).std()
    group["volatility_52"] = (std_52 / (group["violent_mean_52"] + 1)).fillna(0)
    # A surge is known only when the week and the four before it are covered by one source:
    # a change of source or a gap must not make (or hide) a surge by itself. Unknown weeks
    # count as no surge in the features; the label stays unknown there.
    source = group["source"].fillna("")
    known = violent.notna() & violent.shift(1).rolling(4, min_periods=4).count().eq(4)
    for lag in range(1, 5):
        known &= source.shift(lag).eq(source)
    surge_or_unknown = surge_weeks(violent, target).where(known)
    surge = surge_or_unknown == 1
    group["surge"] = surge
    group["surge_known"] = known
    group["surges_52"] = surge.astype(int).rolling(52, min_periods=1).sum()
    group["weeks_observed_52"] = group["covered"].astype(int).rolling(52, min_periods=1).sum()
    # Horizon-long windows ending in the last 52 weeks that held a surge (conflictology).
    window_surge = surge.astype(float).rolling(target.horizon, min_periods=1).max()
    group["window_surge_rate_52"] = window_surge.rolling(
        52 - target.horizon + 1, min_periods=1
    ).mean()
    last_surge = group["week"].where(surge).ffill()
    weeks_since = (group["week"] - last_surge).dt.days / 7
    group["weeks_since_surge"] = weeks_since.fillna(156).clip(upper=156)
    group["change_4"] = _change_category(violent, violent.shift(1).rolling(4, min_periods=1).mean())
    group["change_52"] = _change_category(
        violent, violent.shift(1).rolling(52, min_periods=1).mean()
    )
    group["surge_rate_long"] = surge.astype(float).expanding().mean()
    group["level_vs_year"] = (recent + 0.5) / (group["violent_mean_52"] + 0.5)
    group["nb_surge_prob"] = _count_noise_surge_probability(
        violent,
        violent.ewm(halflife=8, min_periods=1).mean(),
        violent.rolling(52, min_periods=8).var(),
        target,
    )
    group["label"] = surge_labels(surge_or_unknown, target.horizon)
    future = violent[::-1].rolling(target.horizon, min_periods=target.horizon).sum()[::-1]
    group["future_violent"] = future.shift(-1)
    return group


def weekly_panel(
    store: Store,
    theatres: Theatres,
    target: SurgeTarget,
    *,
    counts: pd.DataFrame | None = None,
    actors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per theatre and week: counts, features, label (see module docstring).

    Each theatre runs from its first week with counted data to the last week any load covers:
    zeros for covered weeks without incidents, NaN counts and ``covered`` False for weeks no
    load covers. "Other" (incidents matching no theatre) is left out.
    """
    key = panel_key(store, theatres, target)
    found = cells.stored_panel(store, key)
    if found is not None:
        return found
    counts = weekly_counts(store, theatres) if counts is None else counts
    actors = weekly_actors(store, theatres) if actors is None else actors
    rows = theatre_places(store, theatres)
    groups = theatre_countries(store, theatres, rows)
    coverage = weekly_coverage(coverage_ranges(store), covered_countries(theatres, rows))
    centroids = theatre_centroids(store, theatres)
    panel = build_panel(
        counts,
        actors,
        target,
        theatres.names,
        groups,
        centroids,
        coverage=coverage,
        priority=theatres.source_priority,
    )
    if panel_key(store, theatres, target) == key:  # no load landed while it was computed
        cells.keep_panel(store, key, panel)
    return panel


# The code and reference tables a panel comes from (features, surge rule, how places match
# theatres, country and admin1 names): a stored panel made from others is not reused.
_CODE = hashlib.sha256(
    b"".join(
        Path(path).read_bytes()
        for path in (
            __file__,
            target_module.__file__,
            places_module.__file__,
            theatres_module.__file__,
            ADMIN1_ALIASES_PATH,
            COUNTRIES_PATH,
        )
    )
).hexdigest()


def panel_key(store: Store, theatres: Theatres, target: SurgeTarget) -> str:
    """What a panel depends on: the data version, the theatres (all of their definition), the
    surge target, the day (coverage stops at today) and the code that computes it."""
    definition = [[t.name, t.countries, t.regions, t.boxes, t.sources] for t in theatres.theatres]
    parts = (
        data_version(store),
        json.dumps([definition, theatres.sources]),
        json.dumps(target.as_dict(), sort_keys=True),
        dt.date.today().isoformat(),
        _CODE,
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def build_panel(
    counts: pd.DataFrame,
    actors: pd.DataFrame,
    target: SurgeTarget,
    order: list[str],
    groups: dict[str, str] | None = None,
    centroids: dict[str, tuple[float, float]] | None = None,
    *,
    coverage: pd.DataFrame | None = None,
    priority: Callable[[str], tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    """The panel from grouped counts (see :func:`weekly_panel`).

    ``coverage`` is :func:`weekly_coverage`; without it every week from a theatre's first to the
    last week counts as covered and all sources are summed (synthetic panels).
    """
    last_week = counts["week"].max()  # of all data, "Other" included
    if coverage is not None and not coverage.empty:
        last_week = max(last_week, coverage["week"].max())
    counts = counts[counts["theatre"] != OTHER]
    if counts.empty:
        return pd.DataFrame(columns=["theatre", "week", "covered", "source", "label"])
    # A theatre starts at its first week with data from any source (the counted source may
    # have had nothing to report that week: a zero, not a missing week).
    starts = counts.groupby("theatre", sort=False)["week"].min()
    choice = None
    if coverage is not None and not coverage.empty:
        choice = choose_sources(
            coverage[coverage["theatre"] != OTHER], priority or (lambda _: DEFAULT_SOURCES)
        )
        keys = ["theatre", "week", "source"]
        if "source" in counts.columns:
            counts = counts.merge(choice[keys], on=keys)  # the chosen source's counts only
        if "source" in actors.columns:
            actors = actors.merge(choice[keys], on=keys)
    actors = actors.groupby(["theatre", "week"], as_index=False)["actors"].sum()
    wide = counts.pivot_table(
        index=["theatre", "week"],
        columns="category",
        values="incidents",
        aggfunc="sum",
        fill_value=0,
    ).reindex(columns=list(CATEGORIES), fill_value=0)
    wide.columns = [f"n_{c}" for c in wide.columns]
    totals = counts.groupby(["theatre", "week"])[["incidents", "violent", "fatalities"]].sum()
    wide = wide.join(totals)
    chosen = choice.groupby("theatre") if choice is not None else None
    frames = []
    for theatre, start in starts.items():
        weeks = pd.date_range(start, last_week, freq="7D")
        if theatre in wide.index.get_level_values("theatre"):
            part = wide.xs(theatre, level="theatre")
        else:
            part = pd.DataFrame(columns=wide.columns, dtype=float)
        part = part.reindex(weeks).astype(float)
        if chosen is None:
            covered = pd.Series(True, index=weeks)
            source = pd.Series(None, index=weeks, dtype=object)
        else:
            mine = (
                chosen.get_group(theatre).set_index("week")["source"]
                if theatre in chosen.groups
                else pd.Series(dtype=object)
            )
            source = mine.reindex(weeks).astype(object)
            covered = source.notna()
            source = source.where(covered, None)
        part = part.where(~(part.isna() & covered.to_numpy()[:, None]), 0.0)
        part.index.name = "week"
        part = part.reset_index()
        part.insert(0, "theatre", theatre)
        part.insert(2, "covered", covered.to_numpy())
        part.insert(3, "source", source.to_numpy())
        frames.append(part)
    panel = pd.concat(frames, ignore_index=True)
    panel = panel.merge(actors, on=["theatre", "week"], how="left")
    panel["actors"] = panel["actors"].astype(float).fillna(0).where(panel["covered"])
    panel = pd.concat(
        [_theatre_features(group, target) for _, group in panel.groupby("theatre", sort=False)],
        ignore_index=True,
    )
    # Cross-theatre features at the same week: how many others surge, violence elsewhere.
    by_week = panel.groupby("week")
    panel["others_surging"] = by_week["surge"].transform("sum") - panel["surge"].astype(int)
    panel["region_violent_other"] = by_week["violent"].transform("sum") - panel["violent"]
    panel = panel.sort_values(["theatre", "week"])
    panel["others_surging_4"] = panel.groupby("theatre")["others_surging"].transform(
        lambda s: s.rolling(4, min_periods=1).sum()
    )
    panel["region_violent_other_mean_4"] = panel.groupby("theatre")[
        "region_violent_other"
    ].transform(lambda s: s.rolling(4, min_periods=1).mean())
    # Peers: other theatres with the same main country (none when groups are not given).
    groups = groups or {}
    panel["_group"] = [groups.get(name, name) for name in panel["theatre"]]
    by_group = panel.groupby(["_group", "week"])
    panel["peers_surging"] = by_group["surge"].transform("sum") - panel["surge"].astype(int)
    peer_violent = by_group["violent"].transform("sum") - panel["violent"]
    panel = panel.drop(columns="_group").sort_values(["theatre", "week"])
    by_theatre = panel.groupby("theatre")["peers_surging"]
    panel["peers_surging_4"] = by_theatre.transform(lambda s: s.rolling(4, min_periods=1).sum())
    peer_recent = peer_violent.groupby(panel["theatre"]).transform(
        lambda s: s.rolling(4, min_periods=1).mean()
    )
    peer_before = peer_violent.groupby(panel["theatre"]).transform(
        lambda s: s.shift(4).rolling(12, min_periods=1).mean()
    )
    panel["peers_ratio_4_12"] = (peer_recent + 0.5) / (peer_before.fillna(0) + 0.5)
    panel = _neighbour_features(panel, nearest_neighbours(centroids or {}))
    rank = {name: i for i, name in enumerate(order)}
    panel["_order"] = panel["theatre"].map(rank).fillna(len(rank))
    panel = panel.sort_values(["_order", "week"]).drop(columns="_order")
    return panel.reset_index(drop=True)


def _neighbour_features(panel: pd.DataFrame, neighbours: dict[str, list[str]]) -> pd.DataFrame:
    """Spatial lag: the nearest theatres' violence (last 4 weeks against the 12 before) and
    their surge weeks over the last 4 weeks. Neutral (ratio 1, no surges) without centroids."""
    wide = panel.pivot_table(index="week", columns="theatre", values="violent", aggfunc="sum")
    surges = panel.pivot_table(index="week", columns="theatre", values="surge", aggfunc="sum")
    recent = wide.rolling(4, min_periods=1).mean()
    before = wide.shift(4).rolling(12, min_periods=1).mean().fillna(0)
    surged = surges.astype(float).rolling(4, min_periods=1).sum()
    ratio_rows, surge_rows = [], []
    for theatre in wide.columns:
        near = [n for n in neighbours.get(theatre, []) if n in wide.columns]
        if near:
            ratio = (recent[near].sum(axis=1) + 0.5) / (before[near].sum(axis=1) + 0.5)
            surging = surged[near].sum(axis=1)
        else:
            ratio = pd.Series(1.0, index=wide.index)
            surging = pd.Series(0.0, index=wide.index)
        ratio_rows.append(
            pd.DataFrame({"theatre": theatre, "week": wide.index.to_numpy(), "r": ratio.to_numpy()})
        )
        surge_rows.append(
            pd.DataFrame(
                {"theatre": theatre, "week": wide.index.to_numpy(), "s": surging.to_numpy()}
            )
        )
    lag = pd.concat(ratio_rows).merge(pd.concat(surge_rows), on=["theatre", "week"])
    panel = panel.merge(lag, on=["theatre", "week"], how="left")
    panel["neighbours_ratio_4_12"] = panel.pop("r").fillna(1.0)
    panel["neighbours_surging_4"] = panel.pop("s").fillna(0.0)
    return panel


def latest_complete_week(last_event: dt.date, as_of: dt.date | None = None) -> pd.Timestamp:
    """Monday of the latest week whose Sunday is covered by the data (and not after ``as_of``)."""
    end = min(last_event, as_of) if as_of else last_event
    monday = pd.Timestamp(end) - pd.Timedelta(days=end.weekday())
    return monday if end.weekday() == 6 else monday - pd.Timedelta(days=7)


def week_numbers(weeks: pd.Series) -> np.ndarray:
    """Weeks as consecutive integers (for arithmetic on horizons and cut-offs)."""
    return ((weeks - pd.Timestamp("1970-01-05")).dt.days // 7).to_numpy()
