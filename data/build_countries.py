"""Regenerate data/countries.csv: every ISO 3166-1 country or territory, plus Kosovo.

The committed CSV is what the project reads at run time (risk/incidents/places.py); this script
is only needed to rebuild it. It takes the codes and ISO names from pycountry, which is NOT a
project dependency: install it into a throw-away virtualenv and run the script with that
interpreter, from anywhere:

    python3.11 -m venv /tmp/pycountry-venv
    /tmp/pycountry-venv/bin/pip install pycountry==26.2.16
    /tmp/pycountry-venv/bin/python data/build_countries.py          # rewrites the CSV
    /tmp/pycountry-venv/bin/python data/build_countries.py --check  # exit 1 if it would change

The output depends only on the pycountry version and the tables below, so the same inputs
always give the same bytes (rows sorted by iso3, aliases in a fixed order, "\\n" line ends).

Columns:
    iso3         ISO 3166-1 alpha-3 code (XKX for Kosovo, a code ISO leaves to users)
    iso_numeric  ISO 3166-1 numeric code, three digits ("004"); empty for Kosovo
    name         the short English name ACLED uses, else ISO's common or short name
    aliases      other spellings separated by "|": ISO short, common and official names,
                 UCDP names (with and without their bracketed part), World Bank and UN forms,
                 former names and common abbreviations

risk.incidents.places folds every name (case, accents, punctuation and bracketed parts dropped)
and maps it to the iso3 code. The script refuses to write a table in which two countries share a
folded name, or an alias folds to another country's code: add only spellings that mean one
country ("Congo" is the Republic of Congo, as in ISO and UCDP; "Korea" and "Virgin Islands" mean
nothing on their own)."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "countries.csv"
PYCOUNTRY_VERSION = "26.2.16"  # the version the committed CSV was built with

sys.path.insert(0, str(ROOT))
from risk.incidents.places import CountryIndex, _fold  # noqa: E402  (the matcher's own folding)

# Display names where ACLED (or plain English) differs from ISO's short/common name.
NAMES: dict[str, str] = {
    "BES": "Caribbean Netherlands",
    "BLM": "Saint-Barthelemy",
    "BOL": "Bolivia",
    "BRN": "Brunei",
    "CIV": "Ivory Coast",
    "COD": "Democratic Republic of Congo",
    "COG": "Republic of Congo",
    "CPV": "Cape Verde",
    "CUW": "Curacao",
    "CZE": "Czech Republic",
    "FLK": "Falkland Islands",
    "FSM": "Micronesia",
    "GGY": "Bailiwick of Guernsey",
    "IRN": "Iran",
    "JEY": "Bailiwick of Jersey",
    "KOR": "South Korea",
    "LAO": "Laos",
    "MAF": "Saint-Martin",
    "MDA": "Moldova",
    "PRK": "North Korea",
    "PSE": "Palestine",
    "REU": "Reunion",
    "RUS": "Russia",
    "SWZ": "eSwatini",
    "SXM": "Sint Maarten",
    "SYR": "Syria",
    "TLS": "East Timor",
    "TUR": "Turkey",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "VAT": "Vatican City",
    "VEN": "Venezuela",
    "VGB": "British Virgin Islands",
    "VNM": "Vietnam",
}

# Extra spellings, after pycountry's name, common name and official name.
ALIASES: dict[str, list[str]] = {
    "AFG": ["Islamic Emirate of Afghanistan"],
    "ARE": ["UAE", "U.A.E.", "The United Arab Emirates", "Emirates"],
    "ATF": ["French Southern and Antarctic Lands"],
    "BES": ["Bonaire", "Sint Eustatius", "Saba", "BES Islands"],
    "BHS": ["The Bahamas", "Bahamas, The"],
    "BIH": ["Bosnia-Herzegovina", "Bosnia"],
    "BLM": ["Saint Barthelemy", "St. Barthelemy", "St. Barts", "Saint Barths"],
    "BOL": ["Bolivia (Plurinational State of)", "Plurinational State of Bolivia"],
    "BRN": ["Brunei Darussalam"],
    "CCK": ["Cocos Keeling Islands", "Cocos Islands", "Keeling Islands"],
    "CHN": ["People's Republic of China", "PRC", "Mainland China"],
    "CIV": ["Cote d'Ivoire", "Côte d'Ivoire", "Republic of Cote d'Ivoire"],
    "COD": [
        "DR Congo (Zaire)",
        "DR Congo",
        "D.R. Congo",
        "DRC",
        "DROC",
        "Zaire",
        "Democratic Republic of the Congo",
        "The Democratic Republic of the Congo",
        "Congo, Democratic Republic of the",
        "Congo, Dem. Rep.",
        "Congo-Kinshasa",
    ],
    "COG": [
        "Congo",
        "Republic of the Congo",
        "Congo, Republic of the",
        "Congo, Rep.",
        "Congo Republic",
        "Congo-Brazzaville",
    ],
    "CPV": ["Cabo Verde", "Republic of Cabo Verde"],
    "CUW": ["Curaçao"],
    "CZE": ["Czechia"],
    "DEU": ["West Germany", "East Germany", "German Democratic Republic"],
    "EGY": ["Egypt, Arab Rep."],
    "ESH": ["Sahrawi Arab Democratic Republic"],
    "FLK": ["Falkland Islands (Malvinas)", "Falklands", "Malvinas", "Islas Malvinas"],
    "FSM": [
        "Micronesia, Federated States of",
        "Federated States of Micronesia",
        "Micronesia (Federated States of)",
        "Micronesia, Fed. Sts.",
    ],
    "GBR": [
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "United Kingdom of Great Britain and Northern Ireland",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    ],
    "GGY": ["Guernsey"],
    "GMB": ["The Gambia", "Gambia, The"],
    "HKG": [
        "Hong Kong SAR",
        "Hong Kong SAR, China",
        "Hong Kong, China",
        "China, Hong Kong Special Administrative Region",
    ],
    "IOT": ["Chagos Islands"],
    "IRN": [
        "Iran, Islamic Republic of",
        "Islamic Republic of Iran",
        "Iran (Islamic Republic of)",
        "Iran, Islamic Rep.",
        "Persia",
    ],
    "JEY": ["Jersey"],
    "KGZ": ["Kyrgyz Republic"],
    "KHM": ["Cambodia (Kampuchea)", "Kampuchea", "Democratic Kampuchea"],
    "KNA": ["St. Kitts and Nevis", "Saint Kitts"],
    "KOR": ["Korea, Republic of", "Republic of Korea", "Korea, Rep.", "S. Korea"],
    "LAO": ["Lao People's Democratic Republic", "Lao PDR", "Lao"],
    "LBY": ["Libyan Arab Jamahiriya", "State of Libya"],
    "LCA": ["St. Lucia"],
    "MAC": ["Macau", "Macao SAR, China", "China, Macao Special Administrative Region"],
    "MAF": ["Saint Martin (French part)", "St. Martin (French part)", "St. Martin"],
    "MDA": ["Moldova, Republic of", "Republic of Moldova"],
    "MDG": ["Madagascar (Malagasy)", "Malagasy", "Malagasy Republic"],
    "MKD": [
        "Macedonia",
        "Macedonia, FYR",
        "FYR Macedonia",
        "Former Yugoslav Republic of Macedonia",
        "The former Yugoslav Republic of Macedonia",
        "Macedonia, the former Yugoslav Republic of",
    ],
    "MMR": ["Myanmar (Burma)", "Burma"],
    "NLD": ["The Netherlands", "Netherlands (Kingdom of the)", "Holland"],
    "PCN": ["Pitcairn Islands"],
    "PRK": [
        "Korea, Democratic People's Republic of",
        "Democratic People's Republic of Korea",
        "Korea, Dem. People's Rep.",
        "DPRK",
    ],
    "PSE": [
        "Palestine, State of",
        "State of Palestine",
        "Palestinian Territories",
        "Palestinian Territory",
        "Palestinian Territory, Occupied",
        "Occupied Palestinian Territory",
        "Occupied Palestinian Territories",
        "Palestinian Authority",
        "West Bank and Gaza",
        "West Bank and Gaza Strip",
        "West Bank",
        "Gaza Strip",
        "Gaza",
    ],
    "REU": ["Réunion"],
    "RUS": ["Russian Federation", "Russia (Soviet Union)", "Soviet Union", "USSR", "U.S.S.R."],
    "SAU": ["KSA"],
    "SDN": ["The Sudan"],
    "SGS": ["South Georgia"],
    "SHN": ["Saint Helena", "St. Helena"],
    "SRB": [
        "Serbia (Yugoslavia)",
        "Yugoslavia",
        "Federal Republic of Yugoslavia",
        "Serbia and Montenegro",
    ],
    "SWZ": ["Eswatini", "Kingdom of eSwatini (Swaziland)", "Swaziland"],
    "SXM": ["Sint Maarten (Dutch part)", "St. Maarten"],
    "SYR": ["Syrian Arab Republic", "Syrian Arab Rep."],
    "TLS": ["Timor-Leste", "Democratic Republic of Timor-Leste"],
    "TUR": ["Türkiye", "Turkiye", "Republic of Türkiye", "Republic of Turkey"],
    "TWN": ["Taiwan, Province of China", "Taiwan, China", "Republic of China", "Chinese Taipei"],
    "TZA": ["Tanzania, United Republic of", "United Republic of Tanzania"],
    "UMI": ["U.S. Minor Outlying Islands"],
    "USA": ["United States of America", "USA", "U.S.A.", "US", "U.S.", "America"],
    "VAT": ["Holy See (Vatican City State)", "Holy See", "Vatican City State", "Vatican"],
    "VCT": ["St. Vincent and the Grenadines", "Saint Vincent"],
    "VEN": [
        "Venezuela, Bolivarian Republic of",
        "Bolivarian Republic of Venezuela",
        "Venezuela (Bolivarian Republic of)",
        "Venezuela, RB",
    ],
    "VGB": ["Virgin Islands, British", "British Virgin Islands"],
    "VIR": [
        "U.S. Virgin Islands",
        "US Virgin Islands",
        "United States Virgin Islands",
        "Virgin Islands of the United States",
    ],
    "VNM": [
        "Viet Nam",
        "Vietnam (North Vietnam)",
        "North Vietnam",
        "South Vietnam",
        "Socialist Republic of Vietnam",
    ],
    "WLF": ["Wallis and Futuna Islands"],
    "YEM": [
        "Republic of Yemen",
        "Yemen, Rep.",
        "Yemen (North Yemen)",
        "North Yemen",
        "Yemen Arab Republic",
        "South Yemen",
        "People's Democratic Republic of Yemen",
    ],
    "ZWE": ["Zimbabwe (Rhodesia)", "Rhodesia"],
}

# Not in ISO 3166-1, but ACLED codes events in it.
EXTRA_ROWS: list[tuple[str, str, str, list[str]]] = [
    ("XKX", "", "Kosovo", ["Republic of Kosovo", "Kosova", "KOS", "RKS"]),
]

_INVERTED = re.compile(r"^(?P<head>[^,]+), (?P<tail>.*\bof(?: the)?)$")


def _inverted(name: str) -> str | None:
    """``Iran, Islamic Republic of`` -> ``Islamic Republic of Iran``."""
    match = _INVERTED.match(name)
    return f"{match['tail']} {match['head']}" if match else None


def build_rows() -> list[list[str]]:
    try:
        import pycountry
    except ImportError:
        sys.exit(
            "pycountry is not installed: see the top of data/build_countries.py "
            "(install it into a throw-away virtualenv, not the project's)"
        )
    from importlib.metadata import version

    found = version("pycountry")
    if found != PYCOUNTRY_VERSION:
        print(
            f"note: pycountry {found} (the committed CSV was built with {PYCOUNTRY_VERSION})",
            file=sys.stderr,
        )

    entries: list[tuple[str, str, str, list[str]]] = []
    for country in pycountry.countries:
        code = country.alpha_3
        iso_name = country.name
        common = getattr(country, "common_name", None)
        official = getattr(country, "official_name", None)
        spellings = [iso_name, common, official, _inverted(iso_name), *ALIASES.get(code, [])]
        name = NAMES.get(code) or common or iso_name
        entries.append((code, country.numeric, name, [s for s in spellings if s]))
    entries.extend(EXTRA_ROWS)

    unknown = (set(NAMES) | set(ALIASES)) - {e[0] for e in entries}
    if unknown:
        sys.exit(f"overrides for codes that do not exist: {sorted(unknown)}")

    rows: list[list[str]] = []
    owner: dict[str, str] = {code.lower(): code for code, *_ in entries}
    problems: list[str] = []
    for code, numeric, name, spellings in sorted(entries):
        # Spellings that fold alike are all kept ("Turkiye", "Türkiye"): other readers of the
        # file may compare exact strings.
        kept: list[str] = []
        for spelling in spellings:
            spelling = " ".join(spelling.split())
            if "|" in spelling:
                problems.append(f"{code}: '|' in alias {spelling!r}")
            if not _fold(spelling):
                problems.append(f"{code}: alias {spelling!r} folds to nothing")
            if spelling != name and spelling not in kept:
                kept.append(spelling)
        for key in sorted({_fold(name), *map(_fold, kept)}):
            other = owner.setdefault(key, code)
            if other != code:
                problems.append(f"{code} and {other} both answer to {key!r}")
        rows.append([code, numeric, name, "|".join(kept)])
    if problems:
        sys.exit("ambiguous country table:\n  " + "\n  ".join(problems))
    return rows


def render(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["iso3", "iso_numeric", "name", "aliases"])
    writer.writerows(rows)
    return buffer.getvalue()


def verify(text: str) -> None:
    """Every code, name and alias must lead back to its own row through risk.incidents.places."""
    rows = list(csv.DictReader(io.StringIO(text)))
    index = CountryIndex(rows)
    for row in rows:
        code = row["iso3"]
        for spelling in [code, row["name"], *filter(None, row["aliases"].split("|"))]:
            if index.key(spelling) != code:
                sys.exit(f"{spelling!r} maps to {index.key(spelling)!r}, not {code}")
        numeric = row["iso_numeric"]
        if numeric and index._by_key.get(f"#{int(numeric)}") != code:  # noqa: SLF001
            sys.exit(f"numeric code of {code} does not map back")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--output", type=Path, default=OUT, help=f"default: {OUT}")
    args = parser.parse_args()

    text = render(build_rows())
    verify(text)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: rerun without --check", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({text.count(chr(10)) - 1} rows)")
        return 0
    args.output.write_text(text, encoding="utf-8", newline="")
    print(f"wrote {args.output} ({text.count(chr(10)) - 1} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
