"""How long extracting candidate incidents from a 2,000-word report takes (median of runs).

    .venv/bin/python bench/extract.py [--runs 7]

The report is the fixture reports of tests/data/news/ joined until it has 2,000 words; the
gazetteer and actor groups are loaded once before timing (as a server process keeps them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from risk.news.extract import Extractor  # noqa: E402
from risk.news.reading import read_report  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests/data/news"


def two_thousand_words() -> str:
    paragraphs: list[str] = []
    words = 0
    while words < 2000:
        for path in sorted(FIXTURES.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            paragraphs.append(text)
            words += len(text.split())
            if words >= 2000:
                break
    return "\n\n".join(paragraphs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    extractor = Extractor()
    loading = time.perf_counter() - started
    text = two_thousand_words()
    timings = []
    for _ in range(args.runs):
        clock = time.perf_counter()
        report = read_report(text, name="bench")
        found = extractor.extract(report, dt.date(2024, 3, 1)).incidents
        timings.append(time.perf_counter() - clock)
    print(f"machine: {platform.machine()}, {platform.python_version()}, {platform.platform()}")
    print(f"gazetteer and actor groups loaded once in {loading:.2f} s")
    print(
        f"{len(text.split()):,}-word report: {len(found)} candidates; median "
        f"{statistics.median(timings):.3f} s over {args.runs} runs (worst {max(timings):.3f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
