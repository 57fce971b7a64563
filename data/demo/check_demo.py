"""Sanity report for the simulated demo file (data/demo/acled_demo.csv.gz).

Per theatre: mean events per week and mean violent events per week for each year, and the share
of surge weeks at theatre level and at admin1 level. A week is a surge week when its violent
events are at least twice the mean of the four previous weeks and that mean is at least 1
(ACLED's Subnational Surge Tracker rule); the share is surge weeks over such eligible weeks.
Admin1 shares count admin1 units averaging at least one violent event a week. Violent = Battles,
Explosions/Remote violence, Violence against civilians, Riots, and the sub-event "Excessive force
against protesters". Weeks run Saturday-Friday (ACLED's week); a partial final week is left out.

Usage: .venv/bin/python data/demo/check_demo.py [path]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

DEFAULT = Path(__file__).with_name("acled_demo.csv.gz")
VIOLENT_TYPES = {"Battles", "Explosions/Remote violence", "Violence against civilians", "Riots"}
THEATRES = [
    "Iraq", "Syria", "Lebanon & northern Israel", "Israel & Palestine", "Yemen & Red Sea", "Iran",
]  # fmt: skip
COUNTRY_THEATRE = {
    "Iraq": "Iraq", "Syria": "Syria", "Lebanon": "Lebanon & northern Israel",
    "Palestine": "Israel & Palestine", "Yemen": "Yemen & Red Sea",
    "Saudi Arabia": "Yemen & Red Sea", "Iran": "Iran",
}  # fmt: skip


def theatre(country: str, admin1: str) -> str:
    """Theatre of an event; northern Israel (HaZafon, Haifa) goes with Lebanon."""
    if country == "Israel":
        north = admin1 in ("HaZafon", "Haifa")
        return "Lebanon & northern Israel" if north else "Israel & Palestine"
    return COUNTRY_THEATRE.get(country, "Other")


def weekly(df: pd.DataFrame, keys: list[str], weeks: pd.PeriodIndex) -> pd.DataFrame:
    """Weekly event and violent counts per key, with empty weeks filled with zero."""
    g = df.groupby([*keys, "week"]).agg(events=("violent", "size"), violent=("violent", "sum"))
    units = df[keys].drop_duplicates()
    full = pd.MultiIndex.from_frame(units.merge(pd.DataFrame({"week": weeks}), how="cross"))
    return g.reindex(full, fill_value=0)


def surge_weeks(violent: pd.Series) -> tuple[int, int]:
    """(surge weeks, eligible weeks) of one unit's weekly violent counts."""
    base = violent.shift(1).rolling(4).mean()
    eligible = base >= 1
    return int(((violent >= 2 * base) & eligible).sum()), int(eligible.sum())


def main(path: Path = DEFAULT) -> int:
    df = pd.read_csv(path, keep_default_na=False, low_memory=False)
    dates = pd.to_datetime(df["event_date"], format="%Y-%m-%d")
    df["week"] = dates.dt.to_period("W-FRI")
    df["violent"] = df["event_type"].isin(VIOLENT_TYPES) | (
        df["sub_event_type"] == "Excessive force against protesters"
    )
    df["theatre"] = [theatre(c, a) for c, a in zip(df["country"], df["admin1"], strict=True)]
    if dates.max() < df["week"].max().end_time.normalize():
        df = df[df["week"] < df["week"].max()]  # drop the partial final week
    weeks = pd.period_range(df["week"].min(), df["week"].max(), freq="W-FRI")
    print(
        f"{path.name}: {len(df):,} events in {len(weeks)} complete weeks "
        f"({df['event_date'].min()} .. {df['event_date'].max()}), "
        f"{df['event_id_cnty'].nunique():,} distinct ids, {df['fatalities'].sum():,} fatalities"
    )

    th = weekly(df, ["theatre"], weeks).reset_index()
    th["year"] = th["week"].dt.start_time.dt.year
    means = th.groupby(["theatre", "year"])[["events", "violent"]].mean().round().astype(int)
    years = sorted(th["year"].unique())
    print("\nMean events per week (all | violent) by year")
    print(f"{'theatre':28s}" + "".join(f"{y:>14d}" for y in years))
    for t in THEATRES:
        cells = [means.loc[(t, y)] if (t, y) in means.index else None for y in years]
        print(
            f"{t:28s}"
            + "".join(f"{c['events']:>8d} |{c['violent']:>4d}" for c in cells if c is not None)
        )

    admin1 = weekly(df, ["theatre", "country", "admin1"], weeks)
    print(
        "\nSurge weeks (violent >= 2x mean of previous 4 weeks, mean >= 1), share of eligible weeks"
    )
    print(
        f"{'theatre':28s}{'theatre':>9s}{'n':>4s}{'admin1':>9s}{'n':>6s}{'units':>7s}{'range':>11s}"
    )
    total_s = total_e = 0
    for t in THEATRES:
        s, e = surge_weeks(th.loc[th["theatre"] == t, "violent"].reset_index(drop=True))
        a_s = a_e = 0
        shares = []
        for _, grp in admin1.loc[t].groupby(level=[0, 1]):
            v = grp["violent"].reset_index(drop=True)
            us, ue = surge_weeks(v)
            if v.mean() >= 1 and ue:
                a_s, a_e = a_s + us, a_e + ue
                shares.append(us / ue)
        total_s, total_e = total_s + a_s, total_e + a_e
        spread = f"{min(shares):.0%}-{max(shares):.0%}" if shares else "-"
        print(
            f"{t:28s}{s / max(e, 1):>9.1%}{s:>4d}{a_s / max(a_e, 1):>9.1%}{a_s:>6d}"
            f"{len(shares):>7d}{spread:>11s}"
        )
    print(f"{'all admin1 units':37s}{'':4s}{total_s / max(total_e, 1):>9.1%}{total_s:>6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
