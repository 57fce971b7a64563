"""ui.launch imports what the first visitor would otherwise wait for, and says nothing doing it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import json, pkgutil, sys
from ui.launch import preload
preload()
import risk, ui
from streamlit import delta_generator
modules = [m.name for p in (risk, ui) for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]
print(json.dumps({
    "modules": len(modules),
    "missing": [m for m in modules if m not in sys.modules],
    "prompt_check_done": delta_generator._use_warning_has_been_displayed,
}))
"""


def test_preload_imports_every_project_module_quietly():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["modules"] > 40
    assert found["missing"] == []
    assert found["prompt_check_done"] is True
    assert "No runtime found" not in done.stderr
    assert "WARNING" not in done.stderr
