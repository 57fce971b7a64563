"""Every file in tests/data/bad/ gets its clear message or row-level rejections.

Refused files leave the store exactly as it was; partly bad files load their good rows and
reject the others with line and reason.
"""

from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.incidents.csv_reader import FileProblem
from risk.store.database import Store, incidents
from risk.store.ingest import ingest_file

BAD = Path(__file__).parents[1] / "data" / "bad"
GOOD = Path(__file__).parents[1] / "data" / "acled_current.csv"

REFUSED = {
    "01_empty.csv": "the file is empty",
    "02_header_only.csv": "a header but no data rows",
    "03_blank_lines_only.csv": "the file is empty",
    "04_binary.csv": "binary",
    "05_html_error_page.csv": "it is an HTML page",
    "06_json.csv": "it is JSON",
    "07_pdf.csv": "it is a PDF document",
    "08_unknown_format.csv": "unknown format: the header has columns when, where, what",
    "09_acled_missing_fatalities.csv": "lacks required column: fatalities",
    "10_ucdp_missing_best.csv": "lacks required column: best",
    "11_ambiguous_dates.csv": "event_date has dates like '03/04/2024'",
    "12_mixed_date_orders.csv": "mixes day-first ('25/01/2024') and month-first",
    "23_latin1.csv": "line 2 is not valid UTF-8 (byte 0xe9)",
    "24_utf16.csv": "UTF-16",
    "25_nul_bytes.csv": "line 2 contains a NUL byte",
    "35_zip_with_two_csvs.zip": "exactly one CSV file; it holds a.csv, b.csv",
    "36_excel_workbook.xlsx": "this is an Excel workbook",
    "37_corrupt_gzip.csv.gz": "damaged",
}

# name -> (rows added, {line: words its reason must contain})
LOADED = {
    "13_unparseable_dates.csv": (1, {3: "'yesterday' is not a date", 4: "not a valid calendar"}),
    "14_future_dates.csv": (1, {3: "'2099-01-01' is in the future"}),
    "15_dates_1900_and_2100.csv": (1, {3: "before 1989-01-01", 4: "in the future"}),
    "16_coordinates_out_of_range.csv": (1, {3: "latitude '95.1' is outside", 4: "longitude"}),
    "17_negative_fatalities.csv": (1, {3: "fatalities '-4' is negative"}),
    "18_non_numeric_fatalities.csv": (1, {3: "'dozens' is not a number", 4: "has 32 fields"}),
    "19_duplicate_ids.csv": (2, {4: "duplicate id 'IRQ1': it is already on line 2"}),
    "20_field_of_200k_characters.csv": (1, {3: "longer than 100,000 characters"}),
    "21_truncated_last_line.csv": (2, {4: "expected 31 (a truncated line?)"}),
    "22_unterminated_quote.csv": (2, {4: "a quoted field is not closed"}),
    "26_mixed_line_endings.csv": (3, {}),
    "27_ten_thousand_columns.csv": (1, {}),
    "28_million_empty_lines.csv.gz": (2, {}),
    "29_formula_cells.csv": (3, {}),
    "30_html_and_script_in_notes.csv": (1, {}),
    "31_arabic_right_to_left.csv": (2, {}),
    "32_semicolon_separated.csv": (1, {}),
    "33_tab_separated.tsv": (1, {}),
    "34_excel_serial_dates.csv": (1, {3: "spreadsheet serial number"}),
    "38_latitude_without_longitude.csv": (0, {2: "latitude and longitude must be given together"}),
    "39_utf8_bom_and_spaces_in_header.csv": (1, {}),
    "40_quoted_newlines_and_commas.csv": (1, {}),
}


def test_the_corpus_is_complete():
    files = {p.name for p in BAD.iterdir() if p.suffix != ".py"}
    assert files == set(REFUSED) | set(LOADED)
    assert len(files) >= 30


@pytest.fixture
def seeded(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, GOOD)
    yield store
    store.dispose()


def contents(store: Store) -> tuple:
    with store.read() as connection:
        rows = connection.execute(sa.select(incidents).order_by(incidents.c.id)).all()
        batches = connection.execute(sa.text("SELECT id, status FROM batches")).all()
    return tuple(map(tuple, rows)), tuple(map(tuple, batches))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_files_are_refused_and_change_nothing(seeded, name):
    before = contents(seeded)
    with pytest.raises(FileProblem) as problem:
        ingest_file(seeded, BAD / name)
    message = str(problem.value)
    assert message.startswith(name), "the message names the file"
    assert REFUSED[name] in message
    assert "\n" not in message
    assert contents(seeded) == before


@pytest.mark.parametrize("name", sorted(LOADED))
def test_bad_rows_are_rejected_with_line_and_reason(sqlite_url, name):
    store = Store(sqlite_url)
    added, reasons = LOADED[name]
    report = ingest_file(store, BAD / name)
    assert report.added == added
    got = {r.line: r.reason for r in report.rejected}
    assert set(got) == set(reasons), got
    for line, words in reasons.items():
        assert words in got[line]
    store.dispose()


def test_text_survives_verbatim(tmp_path):
    actors, notes = set(), set()
    for name in (
        "29_formula_cells.csv",
        "30_html_and_script_in_notes.csv",
        "31_arabic_right_to_left.csv",
    ):
        store = Store(f"sqlite:///{tmp_path / name}.db")  # the files reuse ids: one store each
        ingest_file(store, BAD / name)
        with store.read() as connection:
            actors |= set(connection.execute(sa.select(incidents.c.actor1)).scalars())
            notes |= set(connection.execute(sa.select(incidents.c.notes)).scalars())
        store.dispose()
    assert '=HYPERLINK("http://evil.example","click")' in actors
    assert "@SUM(1+1)" in actors and "أنصار الله" in actors and "\u202eevil\u202c" in actors
    assert "<script>alert(document.cookie)</script><b>bold</b><img src=x onerror=alert(1)>" in notes
    assert "هجوم صاروخي على سفينة تجارية في البحر الأحمر" in notes


def test_a_row_larger_than_a_parse_block_refuses_the_file(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setattr("risk.incidents.csv_reader.BLOCK_SIZE", 1 << 16)
    path = tmp_path / "huge.csv"
    path.write_text(GOOD.read_text() + "IRQ9," + "x" * (1 << 17) + "\n")
    store = Store(sqlite_url)
    before = contents(store)
    with pytest.raises(FileProblem, match="larger than"):
        ingest_file(store, path)
    assert contents(store) == before
    store.dispose()
