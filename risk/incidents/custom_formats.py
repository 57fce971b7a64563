"""Column mappings for incident exports of other providers: ``data/formats/NAME.toml``.

A mapping names, for each canonical field, the file's column (date and its format, country,
admin1, admin2, location, latitude, longitude, event type with a value -> category table or one
category for every row, fatalities, actors, id, notes, source). It is saved once (Upload page,
or by hand) and then used by the Upload page, ``ingest --format NAME`` and the drop folder; a
header that carries a saved mapping's columns is recognised without being told.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from risk.config import DATA_DIR
from risk.incidents.schema import CATEGORIES

FORMATS_DIR = DATA_DIR / "formats"


def formats_dir() -> Path:
    """Where mappings are saved: ``$RISK_FORMATS_DIR``, else ``data/formats``."""
    return Path(os.environ.get("RISK_FORMATS_DIR") or FORMATS_DIR)


NAME = re.compile(r"^[a-z]{2,10}$")
BUILT_IN = ("acled", "ucdp", "native", "auto")
# Canonical fields a mapping may fill, as the native format names them.
FIELDS = (
    "id",
    "date",
    "country",
    "admin1",
    "admin2",
    "location",
    "latitude",
    "longitude",
    "event_type",
    "fatalities",
    "actor1",
    "actor2",
    "notes",
    "source",
)


class FormatFileError(ValueError):
    """A mapping cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ColumnMapping:
    """How one provider's columns become canonical incidents (stored as source ``name``)."""

    name: str
    label: str
    columns: dict[str, str]  # canonical field -> the file's column
    date_format: str | None = None  # strftime pattern, e.g. %d/%m/%Y; None: detect
    event_types: dict[str, str] = field(default_factory=dict)  # value -> category
    category: str | None = None  # every row's category when no event type column

    def rename(self) -> dict[str, str]:
        """The file's column -> canonical field."""
        return {column: name for name, column in self.columns.items()}

    def to_toml(self) -> str:
        """The mapping as a TOML document (what :func:`save_mapping` writes)."""
        lines = [
            f"# Column mapping for {self.label} (python -m risk ingest --format {self.name}).",
            f"label = {_quote(self.label)}",
        ]
        if self.date_format:
            lines.append(f"date_format = {_quote(self.date_format)}")
        if self.category:
            lines.append(f"category = {_quote(self.category)}")
        lines += ["", "[columns]"]
        lines += [f"{name} = {_quote(column)}" for name, column in self.columns.items()]
        if self.event_types:
            lines += ["", "[event_types]"]
            lines += [f"{_quote(k)} = {_quote(v)}" for k, v in self.event_types.items()]
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_mapping(mapping: ColumnMapping, where: str) -> ColumnMapping:
    """Raise :class:`FormatFileError` unless the mapping can load a file."""
    if not NAME.match(mapping.name) or mapping.name in BUILT_IN:
        raise FormatFileError(
            f"{where}: the name {mapping.name!r} must be 2-10 lower-case letters and not one of "
            f"{', '.join(BUILT_IN)} (it becomes the source name of the incidents)"
        )
    unknown = set(mapping.columns) - set(FIELDS)
    if unknown:
        raise FormatFileError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use {', '.join(FIELDS)}"
        )
    if "date" not in mapping.columns:
        raise FormatFileError(f'{where}: map the date column (date = "...")')
    if "country" not in mapping.columns and not {"latitude", "longitude"} <= set(mapping.columns):
        raise FormatFileError(f"{where}: map the country column, or latitude and longitude")
    if "event_type" not in mapping.columns and mapping.category is None:
        raise FormatFileError(
            f"{where}: map the event type column, or give one category for every row "
            f"(category = one of {', '.join(CATEGORIES)})"
        )
    for value, category in [*mapping.event_types.items(), ("category", mapping.category)]:
        if category is not None and category not in CATEGORIES:
            raise FormatFileError(
                f"{where}: {value!r} maps to {category!r}, not one of {', '.join(CATEGORIES)}"
            )
    if len(set(mapping.columns.values())) != len(mapping.columns):
        raise FormatFileError(f"{where}: a column is mapped to two fields")
    if mapping.date_format:
        try:
            dt.datetime.strptime(
                dt.date(2024, 1, 20).strftime(mapping.date_format), mapping.date_format
            )
        except ValueError:
            raise FormatFileError(
                f"{where}: date_format {mapping.date_format!r} is not a strftime pattern such "
                "as %d/%m/%Y"
            ) from None
    return mapping


def parse_mapping(name: str, document: Mapping[str, object], where: str) -> ColumnMapping:
    """A mapping from a parsed TOML document."""
    allowed = {"label", "date_format", "category", "columns", "event_types"}
    unknown = set(document) - allowed
    if unknown:
        raise FormatFileError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )
    columns = document.get("columns")
    types = document.get("event_types", {})
    if not isinstance(columns, dict) or not all(
        isinstance(v, str) and v.strip() for v in columns.values()
    ):
        raise FormatFileError(f"{where}: [columns] must map fields to column names")
    if not isinstance(types, dict) or not all(isinstance(v, str) for v in types.values()):
        raise FormatFileError(f"{where}: [event_types] must map values to categories")
    text = {k: document.get(k) for k in ("label", "date_format", "category")}
    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            raise FormatFileError(f"{where}: {key} must be a string")
    return check_mapping(
        ColumnMapping(
            name=name,
            label=str(text["label"] or name),
            columns={k: v.strip() for k, v in columns.items()},
            date_format=text["date_format"] or None,  # type: ignore[arg-type]
            event_types={str(k).strip().casefold(): v for k, v in types.items()},
            category=text["category"],  # type: ignore[arg-type]
        ),
        where,
    )


def load_mapping(name: str, directory: Path | None = None) -> ColumnMapping:
    """The saved mapping ``directory/NAME.toml``."""
    directory = directory or formats_dir()
    path = directory / f"{name}.toml"
    if not NAME.match(name) or not path.is_file():
        known = ", ".join(saved_names(directory)) or "none saved"
        raise FormatFileError(
            f"unknown format {name!r}; use auto, acled, ucdp, native or a saved mapping "
            f"({known}; see {directory})"
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FormatFileError(f"{path}: not valid TOML: {error}") from None
    return parse_mapping(name, document, str(path))


def saved_names(directory: Path | None = None) -> list[str]:
    """Names of the saved mappings."""
    directory = directory or formats_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.toml") if NAME.match(p.stem))


def saved_mappings(directory: Path | None = None) -> list[ColumnMapping]:
    """Every saved mapping that loads (a broken one is skipped here; naming it reports why)."""
    directory = directory or formats_dir()
    found = []
    for name in saved_names(directory):
        try:
            found.append(load_mapping(name, directory))
        except FormatFileError:
            continue
    return found


def guess_column(name: str, columns: list[str]) -> str | None:
    """The file column that most likely holds canonical field ``name`` (for a first guess)."""
    hints = {
        "id": ("id", "event_id", "incident_id", "ref"),
        "date": ("date", "event_date", "incident_date", "date_start"),
        "country": ("country",),
        "admin1": ("admin1", "admin_1", "adm_1", "province", "governorate", "region"),
        "admin2": ("admin2", "admin_2", "adm_2", "district"),
        "location": ("location", "place", "town", "city"),
        "latitude": ("latitude", "lat"),
        "longitude": ("longitude", "lon", "lng", "long"),
        "event_type": ("event_type", "type", "incident_type", "category"),
        "fatalities": ("fatalities", "deaths", "killed", "dead"),
        "actor1": ("actor1", "actor_1", "perpetrator", "reported_perpetrator_name"),
        "actor2": ("actor2", "actor_2", "target", "victim"),
        "notes": ("notes", "description", "summary"),
        "source": ("source", "sources"),
    }
    for hint in hints.get(name, ()):
        if hint in columns:
            return hint
    return None


def save_mapping(
    mapping: ColumnMapping, directory: Path | None = None, *, replace: bool = False
) -> Path:
    """Check and write ``directory/NAME.toml``; refuses to overwrite another mapping unless
    ``replace``."""
    directory = directory or formats_dir()
    check_mapping(mapping, mapping.name)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{mapping.name}.toml"
    if not replace and path.exists() and load_mapping(mapping.name, directory) != mapping:
        raise FormatFileError(f"{path}: a different mapping has that name; choose another")
    path.write_text(mapping.to_toml(), encoding="utf-8")
    return path
