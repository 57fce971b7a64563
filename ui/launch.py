"""Start the dashboard: ``python -m ui.launch [streamlit run options]``.

The same as ``streamlit run dashboard.py [options]`` with one step before it: the libraries the
pages use (pandas, plotly, SQLAlchemy, scikit-learn, SciPy) are imported before the server
listens, so the first visitor after a start does not wait for them (about 1.3 s on the 2-core
machine, README "Performance"). Only third-party modules are imported here: the project's own
modules use Streamlit's caches, which need the server's runtime.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

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


def main(options: list[str]) -> int:
    """Import :data:`PRELOAD`, then run Streamlit's ``run`` command on the dashboard."""
    for name in PRELOAD:
        importlib.import_module(name)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(DASHBOARD), *options]
    try:
        cli.main(prog_name="streamlit")
    except SystemExit as done:  # click ends every command this way
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
