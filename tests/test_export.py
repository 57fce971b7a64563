import csv
import io

import numpy as np
import pandas as pd

from risk.export import safe_csv


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM, so Excel reads the file as UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_formula_like_text_cells_are_neutralised():
    frame = pd.DataFrame(
        {
            "notes": [
                '=HYPERLINK("http://x.example","click")',
                "+1 reported",
                "-2 dead",
                "@SUM(A1:A2)",
                "\tTab first",
                "\rCR first",
                "plain = text",
                None,
            ]
        }
    )
    notes = [row[0] for row in read_back(safe_csv(frame))[1:]]
    assert notes == [
        '\'=HYPERLINK("http://x.example","click")',
        "'+1 reported",
        "'-2 dead",
        "'@SUM(A1:A2)",
        "'\tTab first",
        "'\rCR first",
        "plain = text",
        "",
    ]


def test_numbers_dates_and_booleans_are_untouched():
    frame = pd.DataFrame(
        {
            "fatalities": [-1, 3],
            "probability": [-0.25, np.nan],
            "week": pd.to_datetime(["2024-01-15", "2024-01-22"]),
            "violent": [True, False],
        }
    )
    rows = read_back(safe_csv(frame))
    assert rows == [
        ["fatalities", "probability", "week", "violent"],
        ["-1", "-0.25", "2024-01-15", "True"],
        ["3", "", "2024-01-22", "False"],
    ]


def test_non_latin_text_and_quoted_newlines_survive():
    notes = 'قصف على مدينة حلب\nsecond line, with a comma and "quotes"'
    frame = pd.DataFrame({"actor": ["حزب الله", "Ansar Allah"], "notes": [notes, "x"]})
    rows = read_back(safe_csv(frame))
    assert rows[1] == ["حزب الله", notes]


def test_header_and_string_dtype_columns_are_neutralised():
    frame = pd.DataFrame({"=cmd": pd.array(["=1+1", "ok"], dtype="string")})
    rows = read_back(safe_csv(frame))
    assert rows == [["'=cmd"], ["'=1+1"], ["ok"]]
