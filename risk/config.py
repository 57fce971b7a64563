"""Where the project's settings come from: defaults that work on a laptop, environment overrides.

Every entry point (CLI, dashboard, scheduler) builds its settings with :func:`load_settings`, so
one environment variable changes the behaviour everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'risk.db'}"
DEFAULT_THEATRES_PATH = DATA_DIR / "theatres.toml"
DEFAULT_SOURCES_PATH = DATA_DIR / "sources.toml"
DEMO_DATA_PATH = DATA_DIR / "demo" / "acled_demo.csv.gz"
COUNTRIES_PATH = DATA_DIR / "countries.csv"
ADMIN1_ALIASES_PATH = DATA_DIR / "admin1_aliases.csv"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration for one process."""

    database_url: str = DEFAULT_DATABASE_URL
    theatres_path: Path = DEFAULT_THEATRES_PATH
    sources_path: Path = DEFAULT_SOURCES_PATH
    load_demo: bool = True
    surge_horizon: int = 4
    surge_ratio: float = 2.0
    surge_min_baseline: float = 1.0
    target: str = "default"  # a name in risk.forecast.target.TARGETS

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with the given non-None fields replaced (CLI flags win over env)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _number(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def load_settings(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (``RISK_*`` variables) over the built-in defaults."""
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("RISK_DATABASE_URL") or DEFAULT_DATABASE_URL,
        theatres_path=Path(env.get("RISK_THEATRES") or DEFAULT_THEATRES_PATH),
        sources_path=Path(env.get("RISK_SOURCES") or DEFAULT_SOURCES_PATH),
        load_demo=_flag(env.get("RISK_LOAD_DEMO"), default=True),
        surge_horizon=int(_number(env, "RISK_SURGE_HORIZON", 4)),
        surge_ratio=_number(env, "RISK_SURGE_RATIO", 2.0),
        surge_min_baseline=_number(env, "RISK_SURGE_MIN_BASELINE", 1.0),
        target=(env.get("RISK_TARGET") or "default").strip(),
    )
