"""Start the dashboard: ``python -m ui.launch [streamlit run options]``.

The same as ``streamlit run dashboard.py [options]`` with one step before it: the libraries the
pages use (pandas, plotly, SQLAlchemy, scikit-learn, SciPy) and the project's own modules
(``risk`` and ``ui``) are imported before the server listens, so the first visitor after a
start does not wait for them (README "Performance").
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from pathlib import Path

from streamlit import delta_generator

import risk
import ui

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "sqlalchemy",
    "plotly.graph_objects",
    "plotly.subplots",
    "joblib",
    "scipy.stats",
    "sklearn.ensemble",
    "sklearn.linear_model",
)


def preload() -> None:
    """Import :data:`PRELOAD` and every module of ``risk`` and ``ui``."""
    for name in PRELOAD:
        importlib.import_module(name)
    # The ui modules' cache decorators check their parameters against a stand-in cache when
    # no server runs yet, and log that they did; the server's own caches are made on first use.
    caching = [
        logging.getLogger(f"streamlit.runtime.caching.{name}")
        for name in ("cache_data_api", "cache_resource_api")
    ]
    levels = [logger.level for logger in caching]
    for logger in caching:
        logger.setLevel(logging.ERROR)
    try:
        for package in (risk, ui):
            for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
                importlib.import_module(module.name)
    finally:
        for logger, level in zip(caching, levels, strict=True):
            logger.setLevel(level)
    # Streamlit checks once per process, on a page's first element, whether it runs in a
    # Python prompt; the check reads the source of every frame of the server's deep stack
    # (0.2 s of the first visit). Under ``streamlit run`` the answer is no.
    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def main(options: list[str]) -> int:
    """Preload, then run Streamlit's ``run`` command on the dashboard."""
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(DASHBOARD), *options]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as done:  # click ends every command this way
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
