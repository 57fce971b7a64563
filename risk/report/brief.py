"""The weekly brief: one self-contained HTML file (scores, movers, heat strip, per-theatre
paragraphs, a map, data freshness) to send on, or print to PDF through headless Chromium.

Nothing in the file is fetched: plotly's JavaScript and the map's shapes (data/map/) are
embedded. Every string from data is escaped; chart data goes in as JSON with ``</`` escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from risk.config import DATA_DIR
from risk.forecast.model import ModelError
from risk.forecast.panel import latest_complete_week, weekly_panel
from risk.forecast.scores import make_scores, score_history
from risk.forecast.target import SurgeTarget
from risk.forecast.training import model_metadata
from risk.incidents.theatres import Theatres
from risk.store.database import Store
from risk.store.demo import holds_demo
from risk.store.queries import (
    backtest_frames,
    map_points,
    region_heat,
    store_summary,
    theatre_stats,
)

CHROMIUM = "/usr/bin/chromium"
MAP_SHAPES = DATA_DIR / "map" / "world_110m.json"
BAND_COLOURS = {"low": "#74c476", "elevated": "#fdd049", "high": "#fd8d3c", "severe": "#d7301f"}
BAND_TEXT = {"low": "#0b3d17", "elevated": "#3d2f00", "high": "#3b1700", "severe": "#ffffff"}
NO_DATA = "no recent data"
# Nothing may be fetched: scripts and styles are inline, images and fonts only data: URLs.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)


class BriefError(RuntimeError):
    """The brief cannot be made; the message says why and what to do."""


# The map's look, shared with the dashboard's Map page: land, borders, coast and sea.
MAP_STYLE: dict[str, object] = {
    "scope": "world",
    "projection_type": "mercator",
    "showland": True,
    "landcolor": "#f2efe9",
    "showcountries": True,
    "countrycolor": "#9e9e9e",
    "showcoastlines": True,
    "coastlinecolor": "#7f7f7f",
    "showocean": True,
    "oceancolor": "#dbe9f4",
    "showlakes": False,
    "showrivers": False,
}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


@dataclass
class BriefData:
    """What the brief shows, gathered from the store (see :func:`gather`)."""

    week: pd.Timestamp
    generated: dt.datetime
    model_version: str | None
    horizon: int
    scores: pd.DataFrame  # theatre, probability, band, change, expected, lower, upper, drivers
    panel: pd.DataFrame
    skill: dict[str, float]
    freshness: list[dict[str, Any]]
    last_dates: dict[str, dt.date | None]
    points: pd.DataFrame
    demo: bool
    first_date: dt.date | None
    last_date: dt.date | None


def _week_scores(
    store: Store, theatres: Theatres, target: SurgeTarget, panel: pd.DataFrame, week: dt.date
) -> tuple[pd.DataFrame, str | None]:
    """The scores stored for the week (the newest), else scored now without storing."""
    history = score_history(store)
    if not history.empty:
        chosen = history[history["as_of"] == pd.Timestamp(week)]
        if not chosen.empty:
            newest = chosen.sort_values(["created_at", "id"]).iloc[-1]["model_version"]
            rows = chosen[chosen["model_version"] == newest].copy()
            rows["drivers"] = [json.loads(d) for d in rows["drivers"]]
            return rows.reset_index(drop=True), str(newest)
    try:
        scored = make_scores(store, theatres, target, as_of=week, panel=panel, save=False)
    except ModelError:
        return pd.DataFrame(
            columns=["theatre", "probability", "band", "change", "expected", "lower", "upper"]
        ), None
    rows = pd.DataFrame(
        [
            {
                "theatre": s.theatre,
                "probability": s.probability,
                "band": s.band,
                "change": s.change,
                "expected": s.expected,
                "lower": s.interval[0],
                "upper": s.interval[1],
                "drivers": [d.as_json() for d in s.drivers],
            }
            for s in scored.theatres
        ]
    )
    return rows, scored.model_version


def gather(
    store: Store, theatres: Theatres, target: SurgeTarget, as_of: dt.date | None = None
) -> BriefData:
    """Everything the brief needs for the latest complete week (or the one at ``as_of``)."""
    summary = store_summary(store)
    if summary.last_date is None:
        raise BriefError("no incidents yet; load data first (python -m risk ingest FILE)")
    panel = weekly_panel(store, theatres, target)
    if panel.empty:
        raise BriefError("no incidents in any theatre of the theatres file")
    week = latest_complete_week(summary.last_date, as_of)
    if week < panel["week"].min():
        raise BriefError(
            f"no complete week of data on or before {as_of}; the data starts in the week of "
            f"{panel['week'].min().date()}"
        )
    scores, version = _week_scores(store, theatres, target, panel, week.date())
    order = {name: i for i, name in enumerate(theatres.names)}
    present = list(dict.fromkeys(panel["theatre"]))
    scores = (
        scores.set_index("theatre")
        .reindex(present)
        .reset_index()
        .sort_values("theatre", key=lambda s: s.map(order))
        .reset_index(drop=True)
    )
    metadata = model_metadata(store)
    skill: dict[str, float] = {}
    if metadata:
        per_theatre = backtest_frames(metadata)["theatres"]
        model_rows = per_theatre[per_theatre["forecaster"] == "model"]
        skill = {
            r.theatre: float(r.bss) for r in model_rows.itertuples() if _number(r.bss) is not None
        }
    try:
        from risk.refresh.runs import source_status

        freshness = [s for s in source_status(store) if s["enabled"] or s["last_attempt"]]
    except (ValueError, OSError):
        freshness = []
    stats = theatre_stats(store, theatres)
    end = week.date() + dt.timedelta(days=6)
    points = map_points(store, theatres, start=week.date(), end=end, limit=2_000).points
    return BriefData(
        week=week,
        generated=dt.datetime.now(dt.UTC),
        model_version=version,
        horizon=target.horizon,
        scores=scores,
        panel=panel,
        skill=skill,
        freshness=freshness,
        last_dates=dict(zip(stats["theatre"], stats["last_date"], strict=True)),
        points=points,
        demo=holds_demo(store),
        first_date=summary.first_date,
        last_date=summary.last_date,
    )


# -- the pieces ---------------------------------------------------------------------------------
def _trend(rows: pd.DataFrame) -> str:
    """Last 4 weeks against the 12 before, in words."""
    if len(rows) < 16:
        return "too short a history for a trend"
    recent = rows["violent"].iloc[-4:].mean()
    before = rows["violent"].iloc[-16:-4].mean()
    if before == 0:
        return "rising from none" if recent > 0 else "flat at none"
    ratio = recent / before
    if ratio >= 1.25:
        word = "rising"
    elif ratio <= 0.8:
        word = "falling"
    else:
        word = "steady"
    return (
        f"{word} ({recent:,.1f} a week over the last 4 weeks against {before:,.1f} the 12 before)"
    )


def _paragraph(data: BriefData, row: pd.Series) -> str:
    theatre = row["theatre"]
    history = data.panel[(data.panel["theatre"] == theatre) & (data.panel["week"] <= data.week)]
    now = history[history["week"] == data.week]
    violent = int(now["violent"].iloc[0]) if not now.empty else 0
    parts = [
        f"{violent:,} violent incident{'s' if violent != 1 else ''} in the week; trend "
        f"{_trend(history)}."
    ]
    probability = _number(row.get("probability"))
    if probability is None:
        last = data.last_dates.get(theatre)
        parts.append(
            f"Not scored: {NO_DATA}" + (f" (newest incident {last:%Y-%m-%d})." if last else ".")
        )
    else:
        change = _number(row.get("change"))
        moved = "" if change is None else f", {change * 100:+.0f} pts since the week before"
        parts.append(
            f"Probability of a surge within {data.horizon} weeks: {probability:.0%} "
            f"({row['band']}{moved})."
        )
        expected, lower, upper = (_number(row.get(k)) for k in ("expected", "lower", "upper"))
        if expected is not None:
            parts.append(
                f"Expected {expected:,.0f} violent incidents over the next {data.horizon} weeks "
                f"(80% range {lower:,.0f} to {upper:,.0f})."
            )
        skill = data.skill.get(theatre)
        if skill is not None:
            verdict = "better than" if skill > 0 else "no better than"
            parts.append(
                f"Backtest skill against the theatre's own base rate: {skill:+.2f} ({verdict} "
                "climatology)."
            )
        drivers = row.get("drivers")
        if isinstance(drivers, list) and drivers:
            parts.append("Why: " + "; ".join(str(d.get("text", "")) for d in drivers[:2]) + ".")
    return f"<h3>{_e(theatre)}</h3><p>{_e(' '.join(parts))}</p>"


def _figure_html(figure: go.Figure, name: str) -> str:
    figure.update_layout(
        template="plotly_white", font={"family": "system-ui, sans-serif", "size": 12}
    )
    spec = pio.to_json(figure, validate=False)
    # Inside a <script>, "</" could close it: data never leaves the JSON string.
    spec = spec.replace("</", "<\\/").replace("<!--", "<\\!--")
    return (
        f'<div class="chart" id="{name}"></div>\n<script>(function(){{var f={spec};'
        f"Plotly.newPlot('{name}',f.data,f.layout,{{responsive:true,displaylogo:false}});"
        "})();</script>"
    )


def _heat_figure(data: BriefData) -> go.Figure:
    heat = region_heat(data.panel, data.week, 26)
    order = list(dict.fromkeys(data.scores["theatre"]))
    grid = heat.pivot(index="theatre", columns="week", values="ratio").reindex(order)
    with np.errstate(divide="ignore"):
        z = np.clip(np.log2(grid.to_numpy(dtype=float)), -2, 2)
    z[np.isneginf(z)] = -2
    labels = [_e(name) for name in grid.index]
    figure = go.Figure(
        go.Heatmap(
            x=[f"{w:%Y-%m-%d}" for w in grid.columns],
            y=labels,
            z=z,
            zmin=-2,
            zmax=2,
            zmid=0,
            colorscale="RdBu_r",
            colorbar={
                "title": {"text": "vs 4 wks"},
                "tickvals": [-2, -1, 0, 1, 2],
                "ticktext": ["¼×", "½×", "1×", "2×", "4×"],
                "thickness": 10,
            },
            hovertemplate="%{y}, week of %{x}: %{z:.1f} (log2)<extra></extra>",
            xgap=1,
            ygap=2,
        )
    )
    surges = heat[heat["surge"].astype(bool)]
    figure.add_trace(
        go.Scatter(
            x=[f"{w:%Y-%m-%d}" for w in surges["week"]],
            y=[_e(t) for t in surges["theatre"]],
            mode="markers",
            marker={"size": 6, "color": "#111111"},
            showlegend=False,
            hovertemplate="%{y}: surge, week of %{x}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(type="category", nticks=8)
    figure.update_layout(
        height=120 + (30 if len(order) <= 10 else 14) * len(order),
        margin={"t": 10, "b": 40, "l": 10, "r": 10},
    )
    return figure


def _probability_figure(data: BriefData) -> go.Figure:
    scored = data.scores[data.scores["probability"].notna()]
    figure = go.Figure(
        go.Bar(
            x=scored["probability"] * 100,
            y=[_e(t) for t in scored["theatre"]],
            orientation="h",
            marker_color=[BAND_COLOURS.get(b, "#b0b0b0") for b in scored["band"]],
            text=[f"{p:.0%}" for p in scored["probability"]],
            textposition="outside",
            hovertemplate="%{y}: %{x:.0f}%<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_xaxes(range=[0, 100], title_text=f"P(surge within {data.horizon} weeks), %")
    figure.update_layout(
        height=100 + (28 if len(scored) <= 10 else 14) * max(len(scored), 1),
        margin={"t": 10, "b": 40, "l": 10, "r": 30},
    )
    return figure


def _map_figure(data: BriefData) -> go.Figure:
    points = data.points
    figure = go.Figure()
    if not points.empty:
        largest = max(int(points["fatalities"].max()), 1)
        figure.add_trace(
            go.Scattergeo(
                lon=points["longitude"],
                lat=points["latitude"],
                mode="markers",
                marker={
                    "size": 4 + 20 * np.sqrt(points["fatalities"].to_numpy() / largest),
                    "color": "#d7301f",
                    "opacity": 0.6,
                    "line": {"width": 0.4, "color": "#ffffff"},
                },
                text=[_e(v or "") for v in points["location"]],
                customdata=points[["incidents", "fatalities"]].to_numpy(),
                hovertemplate="%{text}: %{customdata[0]} incidents, %{customdata[1]} deaths"
                "<extra></extra>",
                showlegend=False,
            )
        )
    else:
        figure.add_trace(go.Scattergeo(lon=[], lat=[], showlegend=False))
    figure.update_geos(resolution=110, lonaxis_range=[25, 63], lataxis_range=[10, 42], **MAP_STYLE)
    figure.update_layout(height=420, margin={"t": 0, "b": 0, "l": 0, "r": 0})
    return figure


STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
  margin: 0 auto; max-width: 60rem; padding: 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; } h2 { font-size: 1.2rem; margin-top: 1.6rem;
  border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.2rem; }
p { margin: 0.3rem 0; } .meta { color: #555; font-size: 0.9rem; }
.notice { background: #fff4ce; border: 1px solid #e0c060; padding: 0.6rem; border-radius: 4px; }
.table { overflow-x: auto; } table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.25rem 0.4rem; border-bottom: 1px solid #e5e5e5; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.band { padding: 0.05rem 0.4rem; border-radius: 3px; white-space: nowrap; }
.chart { width: 100%; min-height: 120px; }
footer { margin-top: 2rem; color: #555; font-size: 0.8rem; }
@media (max-width: 40rem) { body { padding: 0.5rem; } table { font-size: 0.8rem; }
  th, td { padding: 0.2rem; } }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; }
  .chart, table, h3 + p { break-inside: avoid; } a { color: inherit; text-decoration: none; } }
"""


def _scores_table(data: BriefData) -> str:
    rows = []
    for row in data.scores.itertuples(index=False):
        probability = _number(row.probability)
        if probability is None:
            cells = f"<td>{_e(NO_DATA)}</td>" + '<td class="num">–</td>' * 3
        else:
            band = str(row.band)
            colour = BAND_COLOURS.get(band, "#ddd")
            text = BAND_TEXT.get(band, "#000")
            change = _number(row.change)
            cells = (
                f'<td><span class="band" style="background:{colour};color:{text}">{_e(band)}'
                f'</span></td><td class="num">{probability:.0%}</td>'
                f'<td class="num">{"–" if change is None else f"{change * 100:+.0f} pts"}</td>'
                f'<td class="num">{row.expected:,.0f} ({row.lower:,.0f}–{row.upper:,.0f})</td>'
            )
        skill = data.skill.get(row.theatre)
        rows.append(
            f"<tr><td>{_e(row.theatre)}</td>{cells}"
            f'<td class="num">{"–" if skill is None else f"{skill:+.2f}"}</td></tr>'
        )
    return (
        '<div class="table"><table><thead><tr><th>Theatre</th><th>Band</th>'
        f'<th class="num">P(surge, {data.horizon} wks)</th><th class="num">Change</th>'
        f'<th class="num">Expected violent, {data.horizon} wks (80%)</th>'
        '<th class="num">Skill</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></div>"
    )


def _movers(data: BriefData) -> str:
    scored = data.scores.assign(moved=[_number(c) for c in data.scores["change"]])
    scored = scored[scored["moved"].notna() & (scored["moved"].abs() >= 0.05)]
    if scored.empty:
        return "<p>No theatre's probability moved by 5 points or more since the week before.</p>"
    items = []
    for row in scored.sort_values("moved", key=np.abs, ascending=False).head(5).itertuples():
        drivers = row.drivers if isinstance(row.drivers, list) else []
        why = "; ".join(str(d.get("text", "")) for d in drivers[:2])
        items.append(
            f"<li><strong>{_e(row.theatre)}</strong>: {row.moved * 100:+.0f} pts to "
            f"{row.probability:.0%} ({_e(row.band)}){'. ' + _e(why) if why else ''}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _freshness(data: BriefData) -> str:
    rows = []
    for source in data.freshness:
        success = source.get("last_success")
        state = "stale" if source.get("stale") else ("ok" if success else "never pulled")
        rows.append(
            f"<tr><td>{_e(source['name'])}</td><td>{_e(source['kind'])}</td>"
            f"<td>{_e(f'{success:%Y-%m-%d %H:%M} UTC' if success else '–')}</td>"
            f"<td>{_e(state)}</td></tr>"
        )
    sources = (
        '<div class="table"><table><thead><tr><th>Source</th><th>Kind</th>'
        "<th>Last success</th><th>State</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        if rows
        else "<p>No scheduled source has been pulled; the data came from files loaded by hand.</p>"
    )
    theatres = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(f'{last:%Y-%m-%d}' if last else '–')}</td></tr>"
        for name, last in data.last_dates.items()
    )
    return (
        sources
        + '<div class="table"><table><thead><tr><th>Theatre</th><th>Newest incident</th></tr>'
        f"</thead><tbody>{theatres}</tbody></table></div>"
    )


def render(data: BriefData) -> str:
    """The brief as one HTML document."""
    week_end = (data.week + pd.Timedelta(days=6)).date()
    title = f"Escalation risk: weekly brief, {data.week:%Y-%m-%d} to {week_end:%Y-%m-%d}"
    notice = (
        '<p class="notice"><strong>Simulated demo data.</strong> The incidents in this store '
        "are simulated (data/demo/README.md): nothing here describes real events.</p>"
        if data.demo
        else ""
    )
    shapes = MAP_SHAPES.read_text(encoding="utf-8")
    paragraphs = "".join(_paragraph(data, row) for _, row in data.scores.iterrows())
    scored = data.scores["probability"].notna().any()
    charts = [
        ("probability", _probability_figure(data)) if scored else None,
        ("heat", _heat_figure(data)),
        ("map", _map_figure(data)),
    ]
    figures = {name: _figure_html(figure, name) for name, figure in filter(None, charts)}
    model = (
        f"model {_e(data.model_version)}"
        if data.model_version
        else "no trained model yet (python -m risk train)"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(title)}</title><style>{STYLE}</style>
<script>window.PlotlyGeoAssets={{topojson:{{"world_110m":{shapes}}}}};</script>
<script>{get_plotlyjs()}</script>
</head><body>
<header><h1>{_e(title)}</h1>
<p class="meta">Made {data.generated:%Y-%m-%d %H:%M} UTC from incidents dated
{_e(data.first_date)} to {_e(data.last_date)}; {model}.</p></header>
{notice}
<h2>This week's scores</h2>
<p>Probability that a theatre has at least one surge week (violent incidents at least twice the
mean of the four weeks before) within {data.horizon} weeks. Bands: low below 15%, elevated
15-30%, high 30-50%, severe 50% and above. Skill: the backtest's Brier skill against the
theatre's own base rate (above 0 beats it).</p>
{_scores_table(data)}
{figures.get("probability", "")}
<h2>Movers since last week</h2>
{_movers(data)}
<h2>Region heat strip</h2>
<p>Each cell: a theatre's violent incidents that week against the mean of its four weeks before;
dots mark surge weeks. The last 26 weeks.</p>
{figures["heat"]}
<h2>Theatre by theatre</h2>
{paragraphs}
<h2>Map of the week</h2>
<p>Incidents of the week by place, sized by deaths ({len(data.points):,} places).</p>
{figures["map"]}
<h2>Data freshness</h2>
{_freshness(data)}
<footer>Escalation-risk dashboard, weekly brief. Self-contained: it loads nothing from the
network. Scores are forecasts, not predictions of certainty; see the Track record page for how
past forecasts fared.</footer>
<script>window.matchMedia('print').addEventListener('change', function () {{
  document.querySelectorAll('.js-plotly-plot').forEach(function (c) {{ Plotly.Plots.resize(c); }});
}});</script>
</body></html>
"""


def build_brief(
    store: Store, theatres: Theatres, target: SurgeTarget, as_of: dt.date | None = None
) -> str:
    """The weekly brief for the latest complete week (or the one at ``as_of``) as HTML."""
    return render(gather(store, theatres, target, as_of))


def print_pdf(html_path: Path, pdf_path: Path, chromium: str | None = None) -> None:
    """Print the brief to PDF with headless Chromium; BriefError when it is not installed."""
    browser = chromium or (CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"))
    if not browser or not Path(browser).exists():
        raise BriefError(
            "cannot print the PDF: Chromium is not installed (looked for /usr/bin/chromium); "
            "install it (apt-get install chromium) or print the HTML brief from a browser"
        )
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(  # noqa: S603 - our own command line, no shell
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        reason = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise BriefError(f"Chromium could not print the PDF: {reason[0]}")
