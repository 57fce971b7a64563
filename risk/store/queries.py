"""Reading incidents back by theatre: the theatre is computed in SQL at read time.

Aggregations run in the database (GROUP BY theatre, ...), so a store of a million incidents is
summarised without loading it into pandas.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.incidents.theatres import Theatres
from risk.store import cells
from risk.store.database import (
    Store,
    as_utc,
    batches,
    coverage,
    incidents,
    models,
    places,
    scores,
)


def place_names(connection: Connection) -> dict[int, tuple[str | None, str | None]]:
    """Every stored place id with its (country, admin1); empty strings read as None."""
    rows = connection.execute(sa.select(places.c.id, places.c.country, places.c.admin1))
    return {pid: (country or None, admin1 or None) for pid, country, admin1 in rows}


def theatre_column(connection: Connection, theatres: Theatres) -> sa.ColumnElement[str]:
    """SQL expression for an incident's theatre under the current theatres file."""
    return theatres.sql_case(
        incidents.c.place_id,
        incidents.c.latitude,
        incidents.c.longitude,
        place_names(connection),
    ).label("theatre")


def coverage_ranges(store: Store) -> pd.DataFrame:
    """What committed loads cover: source, country (as spelled), first_date, last_date.

    One row per source and country spelling: the loads' ranges merged where they overlap or
    touch, so gaps between loads stay gaps.
    """
    with store.read() as connection:
        rows = connection.execute(
            sa.select(
                coverage.c.source, coverage.c.country, coverage.c.first_date, coverage.c.last_date
            )
            .join(batches, batches.c.id == coverage.c.batch_id)
            .where(batches.c.status == "committed")
        ).all()
    merged: list[tuple[str, str, dt.date, dt.date]] = []
    for (source, country), group in pd.DataFrame(
        rows, columns=["source", "country", "first_date", "last_date"]
    ).groupby(["source", "country"], sort=True):
        spans = sorted(
            (_date(a), _date(b)) for a, b in zip(group.first_date, group.last_date, strict=True)
        )
        start, end = spans[0]
        for first, last in spans[1:]:
            if first <= end + dt.timedelta(days=1):
                end = max(end, last)
            else:
                merged.append((source, country, start, end))
                start, end = first, last
        merged.append((source, country, start, end))
    return pd.DataFrame(merged, columns=["source", "country", "first_date", "last_date"])


@dataclass(frozen=True)
class StoreSummary:
    total_incidents: int
    first_date: dt.date | None
    last_date: dt.date | None
    batches: int


def store_summary(store: Store) -> StoreSummary:
    """Totals for the whole store (committed data only)."""
    with store.read() as connection:
        # The first and last date come from the date index; the count from the stored weekly
        # counts when there are any (counting a million rows takes most of a second).
        # Two statements: SQLite reads one end of the index only for a lone min() or max().
        first = connection.execute(sa.select(sa.func.min(incidents.c.event_date))).scalar_one()
        last = connection.execute(sa.select(sa.func.max(incidents.c.event_date))).scalar_one()
        total = cells.stored_total(connection)
        if total is None:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(incidents)
            ).scalar_one()
        batch_count = connection.execute(
            sa.select(sa.func.count()).where(batches.c.status == "committed")
        ).scalar_one()
    return StoreSummary(int(total), _date(first), _date(last), int(batch_count))


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def theatre_stats(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Per theatre: incidents, violent incidents, fatalities, first and last date.

    Every theatre of the file appears (with zeros when it has no data); "Other" appears only
    when some incidents match no theatre. Totals come from the stored weekly counts; the first
    and last dates from the incidents of each theatre's first and last week (index-served).
    """
    totals = cells.theatre_totals(store, theatres)
    found = totals.groupby("theatre").agg(
        incidents=("incidents", "sum"),
        violent=("violent", "sum"),
        fatalities=("fatalities", "sum"),
        first_week=("first_week", "min"),
        last_week=("last_week", "max"),
    )
    dates = _first_and_last_dates(store, theatres, found)
    found = found.join(dates).drop(columns=["first_week", "last_week"])
    names = [n for n in theatres.names if n in found.index or n != "Other"]
    frame = found.reindex(names)
    frame.index.name = "theatre"
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].fillna(0).astype(int)
    for column in ("first_date", "last_date"):
        frame[column] = [_date(v) if pd.notna(v) else None for v in frame[column]]
    return frame.reset_index()


def _first_and_last_dates(store: Store, theatres: Theatres, weeks: pd.DataFrame) -> pd.DataFrame:
    """Each theatre's first and last event date, from the incidents of the weeks that hold
    them (``weeks``: first_week and last_week per theatre), not from a scan of all incidents.

    A theatre's rows in these weeks all lie within its own first and last week, and its first
    and last week are among them, so the minimum and maximum are exact.
    """
    columns = ["first_date", "last_date"]
    if weeks.empty:
        return pd.DataFrame(columns=columns)
    mondays = sorted({*weeks["first_week"], *weeks["last_week"]})
    with store.read() as connection:
        theatre = theatre_column(connection, theatres)
        rows = connection.execute(
            sa.select(
                theatre, sa.func.min(incidents.c.event_date), sa.func.max(incidents.c.event_date)
            )
            .where(
                sa.or_(
                    *(incidents.c.event_date.between(m, m + dt.timedelta(days=6)) for m in mondays)
                )
            )
            .group_by(sa.literal_column("theatre"))
        ).all()
    return pd.DataFrame(rows, columns=["theatre", *columns]).set_index("theatre")


def theatre_sources(store: Store, theatres: Theatres) -> dict[str, list[str]]:
    """Per theatre, the sources its incidents come from (in the theatre's priority order)."""
    totals = cells.theatre_totals(store, theatres)
    found: dict[str, list[str]] = {}
    for name, source in totals[["theatre", "source"]].drop_duplicates().itertuples(index=False):
        found.setdefault(name, []).append(source)
    for name, sources in found.items():
        order = theatres.source_priority(name)
        sources.sort(key=lambda s: (order.index(s) if s in order else len(order), s))
    return found


def unmatched_places(store: Store, theatres: Theatres) -> pd.DataFrame:
    """The (country, admin1) values whose incidents fall into "Other", most incidents first.

    ``canonical`` is the alias table's name for the admin1 (None when the table does not know
    the spelling): a theatres file region written with it would match.
    """
    from risk.incidents.places import load_admin1_index, load_country_index
    from risk.incidents.theatres import OTHER

    totals = cells.theatre_totals(store, theatres)
    other = totals[totals["theatre"] == OTHER]
    grouped = (
        other.groupby(["country", "admin1"], as_index=False)["incidents"]
        .sum()
        .sort_values(["incidents", "country", "admin1"], ascending=[False, True, True])
    )
    countries, admin1 = load_country_index(), load_admin1_index()
    frame = grouped[["country", "admin1", "incidents"]].reset_index(drop=True)
    frame["incidents"] = frame["incidents"].astype("int64")
    frame["canonical"] = [
        admin1.canonical(countries.key(c), a)
        for c, a in zip(frame.country, frame.admin1, strict=True)
    ]
    for column in ("country", "admin1"):
        frame[column] = frame[column].astype(object).where(frame[column] != "", None)
    return frame


def data_version(store: Store) -> str:
    """A short token that changes whenever committed data changes (ingest, undo)."""
    with store.read() as connection:
        newest, undone = connection.execute(
            sa.select(
                sa.func.max(batches.c.id),
                sa.func.count().filter(batches.c.status == "undone"),
            ).where(batches.c.status != "loading")
        ).one()
    return f"b{newest or 0}u{undone}"


# -- read-only views for the dashboard --------------------------------------------------------
# Everything that scans incidents runs in SQL (filtered by date first, which the event_date
# index serves); the functions that take frames shape results that are already small
# (weekly counts, the panel, stored scores) for display.


def results_version(store: Store) -> str:
    """A short token that changes whenever a model is trained or scores are stored."""
    with store.read() as connection:
        newest_model = connection.execute(sa.select(sa.func.max(models.c.id))).scalar_one()
        newest_score = connection.execute(sa.select(sa.func.max(scores.c.id))).scalar_one()
    return f"m{newest_model or 0}s{newest_score or 0}"


@dataclass(frozen=True)
class LastLoad:
    """The newest committed batch: when it finished, what it was, and where it came from."""

    batch_id: int
    file_name: str
    origin: str
    finished_at: dt.datetime


def last_load(store: Store) -> LastLoad | None:
    """The newest committed batch, or None for a store that never loaded anything."""
    with store.read() as connection:
        row = connection.execute(
            sa.select(batches.c.id, batches.c.file_name, batches.c.origin, batches.c.finished_at)
            .where(batches.c.status == "committed")
            .order_by(batches.c.finished_at.desc(), batches.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return LastLoad(int(row.id), row.file_name, row.origin, as_utc(row.finished_at))


def loads_by_origin(store: Store) -> pd.DataFrame:
    """Per origin (cli, upload, demo, a refresh source...): loads, last load, rows added."""
    with store.read() as connection:
        rows = connection.execute(
            sa.select(
                batches.c.origin,
                sa.func.count().label("loads"),
                sa.func.max(batches.c.finished_at).label("last_load"),
                sa.func.sum(batches.c.added).label("added"),
                sa.func.sum(batches.c.updated).label("updated"),
                sa.func.sum(batches.c.rejected).label("rejected"),
            )
            .where(batches.c.status == "committed")
            .group_by(batches.c.origin)
            .order_by(sa.func.max(batches.c.finished_at).desc())
        ).all()
    frame = pd.DataFrame(
        rows, columns=["origin", "loads", "last_load", "added", "updated", "rejected"]
    )
    frame["last_load"] = pd.to_datetime(frame["last_load"], utc=True)
    for column in ("loads", "added", "updated", "rejected"):
        frame[column] = frame[column].astype("int64")
    return frame


SCORE_COLUMNS = [
    "theatre",
    "probability",
    "band",
    "expected",
    "lower",
    "upper",
    "change",
    "drivers",
    "as_of",
    "model_version",
]


def latest_scores(store: Store, order: list[str] | None = None) -> pd.DataFrame:
    """The newest week of stored scores, one row per theatre (in ``order`` when given).

    The newest week wins; within it, the scores stored last. ``drivers`` holds the list of
    drivers (feature, contribution, text) and ``as_of`` the Monday of the scored week.
    """
    with store.read() as connection:
        newest = connection.execute(
            sa.select(scores.c.as_of, scores.c.model_version)
            .order_by(scores.c.as_of.desc(), scores.c.created_at.desc(), scores.c.id.desc())
            .limit(1)
        ).first()
        rows = []
        if newest is not None:
            rows = connection.execute(
                sa.select(*(scores.c[c] for c in SCORE_COLUMNS)).where(
                    scores.c.as_of == newest.as_of,
                    scores.c.model_version == newest.model_version,
                )
            ).all()
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    frame["drivers"] = [json.loads(text) for text in frame["drivers"]]
    frame["as_of"] = [_date(value) for value in frame["as_of"]]
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        frame = frame.sort_values("theatre", key=lambda s: s.map(rank).fillna(len(rank)))
    return frame.reset_index(drop=True)


def score_drivers(latest: pd.DataFrame) -> pd.DataFrame:
    """The drivers of stored scores as a long frame: theatre, rank, feature, contribution, text."""
    rows = [
        (theatre, rank, d["feature"], float(d["contribution"]), d["text"])
        for theatre, drivers in zip(latest["theatre"], latest["drivers"], strict=True)
        for rank, d in enumerate(drivers, start=1)
    ]
    return pd.DataFrame(rows, columns=["theatre", "rank", "feature", "contribution", "text"])


def theatre_overview(panel: pd.DataFrame, latest: pd.DataFrame, weeks: int = 26) -> pd.DataFrame:
    """One row per theatre of the panel for the scored week (else the panel's last week).

    Columns: theatre, week, violent (that week), probability, band, change, expected, lower,
    upper (NaN / None without scores), surges_52 (surge weeks in the 52 up to the week) and
    ``recent``: the violent incidents of the ``weeks`` weeks up to it, oldest first.
    """
    columns = [
        "theatre",
        "week",
        "violent",
        "probability",
        "band",
        "change",
        "expected",
        "lower",
        "upper",
        "surges_52",
        "recent",
    ]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    week = pd.Timestamp(latest["as_of"].iloc[0]) if not latest.empty else panel["week"].max()
    window = panel[(panel["week"] <= week) & (panel["week"] > week - pd.Timedelta(weeks=weeks))]
    recent = window.groupby("theatre", sort=False)["violent"].agg(list)
    year = panel[(panel["week"] <= week) & (panel["week"] > week - pd.Timedelta(weeks=52))]
    surges = year.groupby("theatre", sort=False)["surge"].sum()
    now = panel[panel["week"] == week].set_index("theatre")
    frame = pd.DataFrame({"theatre": list(dict.fromkeys(panel["theatre"]))})
    frame["week"] = week
    frame["violent"] = frame["theatre"].map(now["violent"]).fillna(0).astype("int64")
    scored = latest.set_index("theatre") if not latest.empty else None
    for column in ("probability", "change", "expected", "lower", "upper"):
        frame[column] = (
            frame["theatre"].map(scored[column]).astype(float) if scored is not None else np.nan
        )
    frame["band"] = frame["theatre"].map(scored["band"]) if scored is not None else None
    frame["surges_52"] = frame["theatre"].map(surges).fillna(0).astype("int64")
    frame["recent"] = [list(recent.get(name, [])) for name in frame["theatre"]]
    return frame[columns]


def region_heat(panel: pd.DataFrame, end: pd.Timestamp | None = None, weeks: int = 52):
    """Theatre x week intensity for the region heat strip.

    Per theatre and week: violent incidents, ``baseline`` (the mean of the four weeks before,
    as in the surge rule), ``ratio`` (violent / baseline, NaN without a baseline) and ``surge``;
    plus, per week, how many theatres surged (``surging``).
    """
    columns = ["theatre", "week", "violent", "baseline", "ratio", "surge", "surging"]
    if panel.empty:
        return pd.DataFrame(columns=columns)
    frame = panel[["theatre", "week", "violent", "violent_mean_4", "surge"]].copy()
    # violent_mean_4 at week w-1 is the mean of weeks w-4 .. w-1.
    frame["baseline"] = frame.groupby("theatre", sort=False)["violent_mean_4"].shift(1)
    frame["ratio"] = frame["violent"] / frame["baseline"].where(frame["baseline"] > 0)
    frame["surging"] = frame.groupby("week")["surge"].transform("sum").astype("int64")
    end = panel["week"].max() if end is None else pd.Timestamp(end)
    frame = frame[(frame["week"] <= end) & (frame["week"] > end - pd.Timedelta(weeks=weeks))]
    return frame[columns].reset_index(drop=True)


def source_stretches(panel: pd.DataFrame) -> pd.DataFrame:
    """Which source each stretch of weeks is counted from, per theatre (None: not covered).

    Columns: theatre, source, first_week, last_week, weeks; in theatre order, then in time.
    """
    columns = ["theatre", "source", "first_week", "last_week", "weeks"]
    if panel.empty or "source" not in panel.columns:
        return pd.DataFrame(columns=columns)
    frame = panel[["theatre", "week", "source"]].copy()
    frame["source"] = frame["source"].where(panel["covered"].astype(bool), None)
    label = frame["source"].fillna("")
    new = (label != label.groupby(frame["theatre"], sort=False).shift()) | (
        frame["theatre"] != frame["theatre"].shift()
    )
    frame["_run"] = new.cumsum()
    runs = frame.groupby("_run", sort=True).agg(
        theatre=("theatre", "first"),
        source=("source", "first"),
        first_week=("week", "min"),
        last_week=("week", "max"),
        weeks=("week", "size"),
    )
    runs["source"] = runs["source"].where(runs["source"].notna(), None)
    return runs[columns].reset_index(drop=True)


def source_overlap(counts: pd.DataFrame, theatre: str | None = None) -> pd.DataFrame:
    """Weeks with incidents from more than one source: violent incidents per source, side by
    side (``counts`` is :func:`risk.forecast.panel.weekly_counts`). Columns: theatre, week, then
    one column per source."""
    if counts.empty or "source" not in counts.columns:
        return pd.DataFrame(columns=["theatre", "week"])
    chosen = counts if theatre is None else counts[counts["theatre"] == theatre]
    wide = chosen.pivot_table(
        index=["theatre", "week"], columns="source", values="violent", aggfunc="sum"
    )
    both = wide[wide.notna().sum(axis=1) > 1]
    both.columns = [str(c) for c in both.columns]
    return both.reset_index()


def surge_weeks_between(
    panel: pd.DataFrame, theatres: list[str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    """The surge weeks of the chosen theatres whose Monday falls from start to end."""
    chosen = panel[
        panel["surge"].astype(bool)
        & panel["theatre"].isin(theatres)
        & (panel["week"] >= pd.Timestamp(_monday(start)))
        & (panel["week"] <= pd.Timestamp(end))
    ]
    return chosen[["theatre", "week", "violent"]].reset_index(drop=True)


def weekly_series(
    counts: pd.DataFrame,
    *,
    theatres: list[str],
    categories: list[str],
    start: dt.date,
    end: dt.date,
    window: int = 4,
    sources: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Weekly totals per theatre for the chosen categories, with rolling means.

    ``counts`` is :func:`risk.forecast.panel.weekly_counts`. Every week from ``start`` to ``end`` is
    present for each theatre (zeros where nothing happened), so rolling means are honest.
    ``sources`` (the panel's theatre, week, source, covered) keeps each week's counted source
    only and leaves weeks no load covers empty (NaN: charts draw a gap).
    Columns: theatre, week, incidents, violent, fatalities, incidents_mean, fatalities_mean.
    """
    weeks = pd.date_range(_monday(start), _monday(end), freq="7D").as_unit("us")
    chosen = counts[counts["theatre"].isin(theatres) & counts["category"].isin(categories)]
    if sources is not None and "source" in chosen.columns:
        counted = sources.loc[sources["covered"].astype(bool), ["theatre", "week", "source"]]
        chosen = chosen.merge(counted, on=["theatre", "week", "source"])
    totals = chosen.groupby(["theatre", "week"])[["incidents", "violent", "fatalities"]].sum()
    full = pd.MultiIndex.from_product([theatres, weeks], names=["theatre", "week"])
    frame = totals.reindex(full, fill_value=0).reset_index()
    if sources is not None:
        covered = sources.loc[sources["covered"].astype(bool)].set_index(["theatre", "week"])
        known = pd.MultiIndex.from_frame(frame[["theatre", "week"]]).isin(covered.index)
        in_panel = frame["theatre"].isin(set(sources["theatre"]))
        gap = in_panel & ~known
        frame[["incidents", "violent", "fatalities"]] = (
            frame[["incidents", "violent", "fatalities"]].astype(float).where(~gap)
        )
    by_theatre = frame.groupby("theatre", sort=False)
    for column in ("incidents", "fatalities"):
        frame[f"{column}_mean"] = by_theatre[column].transform(
            lambda s: s.rolling(window, min_periods=1).mean()
        )
    return frame


def weekly_by_category(
    counts: pd.DataFrame,
    *,
    theatres: list[str],
    categories: list[str],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """Incidents per theatre, week and category (only combinations that occurred)."""
    chosen = counts[
        counts["theatre"].isin(theatres)
        & counts["category"].isin(categories)
        & (counts["week"] >= pd.Timestamp(_monday(start)))
        & (counts["week"] <= pd.Timestamp(_monday(end)))
    ]
    return (
        chosen.groupby(["theatre", "week", "category"], as_index=False)[["incidents", "fatalities"]]
        .sum()
        .sort_values(["theatre", "week", "category"])
        .reset_index(drop=True)
    )


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _incident_filters(
    connection: Connection,
    theatres: Theatres,
    *,
    theatre_names: list[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    categories: list[str] | None,
    search: str | None,
) -> tuple[sa.ColumnElement[str], list[sa.ColumnElement[bool]]]:
    theatre = theatre_column(connection, theatres)
    conditions: list[sa.ColumnElement[bool]] = []
    if start is not None:
        conditions.append(incidents.c.event_date >= start)
    if end is not None:
        conditions.append(incidents.c.event_date <= end)
    if categories is not None:
        conditions.append(incidents.c.category.in_(categories))
    if theatre_names is not None:
        conditions.append(theatre.element.in_(theatre_names))  # the CASE, not its label
    if search and search.strip():
        term = search.strip()
        conditions.append(
            sa.or_(
                *(
                    sa.func.coalesce(column, "").icontains(term, autoescape=True)
                    for column in (
                        incidents.c.notes,
                        incidents.c.actor1,
                        incidents.c.actor2,
                        incidents.c.location,
                        incidents.c.admin2,
                        incidents.c.source_text,
                        incidents.c.source_id,
                        places.c.admin1,
                        places.c.country,
                    )
                )
            )
        )
    return theatre, conditions


INCIDENT_COLUMNS = [
    "event_date",
    "theatre",
    "country",
    "admin1",
    "location",
    "category",
    "source_event_type",
    "actor1",
    "actor2",
    "fatalities",
    "notes",
    "source_text",
    "source",
    "source_id",
    "latitude",
    "longitude",
    "precision",
]


def precision_note(
    date_end: object, week_precise: bool, place_precise: bool, event_date: object = None
) -> str | None:
    """Words for an imprecise event, for tables: what is known only roughly, else None."""
    parts = []
    if not week_precise:
        end = _date(date_end) if date_end is not None and pd.notna(date_end) else None
        parts.append(
            f"dated only to {_date(event_date)} .. {end}; not in weekly counts"
            if end and event_date is not None
            else "dated only to a month or longer; not in weekly counts"
        )
    if not place_precise:
        parts.append("located only to a region or the country; not on the map")
    return "; ".join(parts) or None


@dataclass(frozen=True)
class IncidentPage:
    """Matching incidents (newest first, at most ``limit``) and how many match in all."""

    rows: pd.DataFrame
    total: int


def find_incidents(
    store: Store,
    theatres: Theatres,
    *,
    theatre_names: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | None = None,
    search: str | None = None,
    limit: int | None = 1_000,
) -> IncidentPage:
    """Incidents matching every given filter; ``search`` looks in notes, actors, places, sources.

    Search is case-insensitive and literal (``%`` and ``_`` match themselves).
    """
    with store.read() as connection:
        theatre, conditions = _incident_filters(
            connection,
            theatres,
            theatre_names=theatre_names,
            start=start,
            end=end,
            categories=categories,
            search=search,
        )
        joined = incidents.join(places, places.c.id == incidents.c.place_id)
        total = connection.execute(
            sa.select(sa.func.count()).select_from(joined).where(*conditions)
        ).scalar_one()
        query = (
            sa.select(
                incidents.c.event_date,
                theatre,
                places.c.country,
                places.c.admin1,
                incidents.c.location,
                incidents.c.category,
                incidents.c.source_event_type,
                incidents.c.actor1,
                incidents.c.actor2,
                incidents.c.fatalities,
                incidents.c.notes,
                incidents.c.source_text,
                incidents.c.source,
                incidents.c.source_id,
                incidents.c.latitude,
                incidents.c.longitude,
                incidents.c.date_end,
                incidents.c.week_precise,
                incidents.c.place_precise,
            )
            .select_from(joined)
            .where(*conditions)
            .order_by(incidents.c.event_date.desc(), incidents.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = connection.execute(query).all()
    flags = ["date_end", "week_precise", "place_precise"]
    frame = pd.DataFrame(rows, columns=[*INCIDENT_COLUMNS[:-1], *flags])
    frame["precision"] = [
        precision_note(end, bool(week), bool(place), day)
        for day, end, week, place in zip(
            frame["event_date"],
            frame["date_end"],
            frame["week_precise"],
            frame["place_precise"],
            strict=True,
        )
    ]
    frame = frame[INCIDENT_COLUMNS]
    frame["event_date"] = [_date(value) for value in frame["event_date"]]
    frame["fatalities"] = frame["fatalities"].astype("int64")
    for column in ("country", "admin1"):
        frame[column] = frame[column].replace("", None)
    return IncidentPage(frame, int(total))


def actor_activity(
    store: Store,
    theatres: Theatres,
    theatre_name: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 25,
) -> pd.DataFrame:
    """The most active actors in a theatre (as actor1 or actor2): incidents, violent, deaths.

    Columns: actor, incidents, violent, fatalities, first_date, last_date; most incidents first.
    """
    with store.read() as connection:
        _, conditions = _incident_filters(
            connection,
            theatres,
            theatre_names=[theatre_name],
            start=start,
            end=end,
            categories=None,
            search=None,
        )
        picked = (
            sa.select(
                incidents.c.actor1,
                incidents.c.actor2,
                incidents.c.violent,
                incidents.c.fatalities,
                incidents.c.event_date,
            )
            .where(*conditions)
            .subquery()
        )
        sides = sa.union_all(
            *(
                sa.select(
                    actor.label("actor"),
                    picked.c.violent,
                    picked.c.fatalities,
                    picked.c.event_date,
                ).where(actor.is_not(None), actor != "")
                for actor in (picked.c.actor1, picked.c.actor2)
            )
        ).subquery()
        incidents_count = sa.func.count().label("incidents")
        query = (
            sa.select(
                sides.c.actor,
                incidents_count,
                sa.func.sum(sa.case((sides.c.violent, 1), else_=0)).label("violent"),
                sa.func.sum(sides.c.fatalities).label("fatalities"),
                sa.func.min(sides.c.event_date).label("first_date"),
                sa.func.max(sides.c.event_date).label("last_date"),
            )
            .group_by(sides.c.actor)
            .order_by(incidents_count.desc(), sides.c.actor)
            .limit(limit)
        )
        rows = connection.execute(query).all()
    frame = pd.DataFrame(
        rows, columns=["actor", "incidents", "violent", "fatalities", "first_date", "last_date"]
    )
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].astype("int64")
    for column in ("first_date", "last_date"):
        frame[column] = [_date(value) for value in frame[column]]
    return frame


@dataclass(frozen=True)
class MapPoints:
    """Incidents grouped by place (coordinates to 2 decimals, about 1 km) and category."""

    points: pd.DataFrame
    total_points: int
    incidents: int
    fatalities: int
    without_coordinates: int


def map_points(
    store: Store,
    theatres: Theatres,
    *,
    theatre_names: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | None = None,
    limit: int = 5_000,
) -> MapPoints:
    """Points for the map: per place and category, incidents and fatalities (grouped in SQL).

    The ``limit`` points with the most incidents are returned (``total_points`` says how
    many there are). Columns: latitude, longitude, category, theatre, location, incidents,
    fatalities, first_date, last_date.
    """
    with store.read() as connection:
        theatre, conditions = _incident_filters(
            connection,
            theatres,
            theatre_names=theatre_names,
            start=start,
            end=end,
            categories=categories,
            search=None,
        )
        # An event located only to a region or the country is no point: its coordinates
        # are a centroid, and the centroid would become the "deadliest place".
        located = [
            *conditions,
            incidents.c.latitude.is_not(None),
            incidents.c.longitude.is_not(None),
            incidents.c.place_precise,
        ]
        # Two decimals (about 1 km); round(x * 100) / 100 works on both backends.
        cells = [
            sa.func.round(column * 100) / 100
            for column in (incidents.c.latitude, incidents.c.longitude)
        ]
        grouped = (
            sa.select(
                cells[0].label("latitude"),
                cells[1].label("longitude"),
                incidents.c.category,
                sa.func.max(theatre.element).label("theatre"),
                sa.func.max(incidents.c.location).label("location"),
                sa.func.count().label("incidents"),
                sa.func.sum(incidents.c.fatalities).label("fatalities"),
                sa.func.min(incidents.c.event_date).label("first_date"),
                sa.func.max(incidents.c.event_date).label("last_date"),
            )
            .where(*located)
            .group_by(*cells, incidents.c.category)
            .subquery()
        )
        rows = connection.execute(
            sa.select(grouped)
            .order_by(grouped.c.incidents.desc(), grouped.c.latitude, grouped.c.longitude)
            .limit(limit)
        ).all()
        total_points, total, fatalities = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(grouped.c.incidents), 0),
                sa.func.coalesce(sa.func.sum(grouped.c.fatalities), 0),
            )
        ).one()
        unlocated = connection.execute(
            sa.select(sa.func.count()).where(
                *conditions,
                sa.or_(
                    incidents.c.latitude.is_(None),
                    incidents.c.longitude.is_(None),
                    sa.not_(incidents.c.place_precise),
                ),
            )
        ).scalar_one()
    frame = pd.DataFrame(
        rows,
        columns=[
            "latitude",
            "longitude",
            "category",
            "theatre",
            "location",
            "incidents",
            "fatalities",
            "first_date",
            "last_date",
        ],
    )
    frame[["latitude", "longitude"]] = frame[["latitude", "longitude"]].astype(float)
    for column in ("incidents", "fatalities"):
        frame[column] = frame[column].astype("int64")
    for column in ("first_date", "last_date"):
        frame[column] = [_date(value) for value in frame[column]]
    return MapPoints(frame, int(total_points), int(total), int(fatalities), int(unlocated))


def top_places(points: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` deadliest places among map points (all categories of a place together)."""
    columns = ["location", "theatre", "incidents", "fatalities"]
    if points.empty:
        return pd.DataFrame(columns=columns)
    places_ = (
        points.assign(location=points["location"].fillna("(unnamed)"))
        .groupby(["location", "theatre"], as_index=False)[["incidents", "fatalities"]]
        .sum()
    )
    return places_.nlargest(n, ["fatalities", "incidents"])[columns].reset_index(drop=True)


def backtest_frames(metadata: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """A model's stored backtest (see :func:`risk.forecast.training.model_metadata`) as tables.

    ``pooled``: one row per forecaster (the model, then the baselines) with roc_auc,
    average_precision, brier, bss, ece, n. ``theatres``: one row per theatre and forecaster,
    with positives and too_few_positives. ``reliability``: forecast, observed, n per bin.
    ``candidates``: every specification training compared. ``folds``: the rolling origins.
    """
    backtest = metadata.get("backtest") or {}
    metrics = ["roc_auc", "average_precision", "brier", "bss", "ece", "n"]
    pooled = pd.DataFrame(
        [
            {"forecaster": name, **{m: block.get(m) for m in metrics}}
            for name, block in (backtest.get("pooled") or {}).items()
        ],
        columns=["forecaster", *metrics],
    )
    per_theatre = pd.DataFrame(
        [
            {
                "theatre": entry.get("theatre"),
                "positives": entry.get("positives"),
                "too_few_positives": bool(entry.get("too_few_positives")),
                "forecaster": name,
                **{m: block.get(m) for m in metrics},
            }
            for entry in backtest.get("theatres") or []
            for name, block in entry.items()
            if isinstance(block, dict) and "brier" in block
        ],
        columns=["theatre", "positives", "too_few_positives", "forecaster", *metrics],
    )
    return {
        "pooled": pooled,
        "theatres": per_theatre,
        "reliability": pd.DataFrame(
            backtest.get("reliability") or [], columns=["forecast", "observed", "n"]
        ),
        "candidates": pd.DataFrame(metadata.get("candidates") or []),
        "folds": pd.DataFrame(backtest.get("folds") or []),
    }
