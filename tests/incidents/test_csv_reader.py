import codecs
import gzip
import hashlib
import io
import zipfile

import pytest

from risk.incidents.csv_reader import CsvStream, FileProblem, normalise_header


def read_all(data: bytes, wanted=None):
    stream = CsvStream(io.BytesIO(data), "f.csv")
    chunks = list(stream.chunks(wanted or stream.columns))
    return stream, chunks


def test_line_numbers_count_quoted_newlines_blank_lines_and_bad_rows():
    data = (
        b"Event ID,Date,Notes\n"  # line 1
        b'1,2024-01-20,"x\ny"\n'  # lines 2-3
        b"\n\n"  # lines 4-5, blank
        b"4,5\n"  # line 6, too few fields
        b"6,7,8,9\n"  # line 7, too many
        b'10,2024-01-21,"multi\nline\nhere"\n'  # lines 8-10
        b"13,14,15\n"  # line 11
        b'16,"unterminated,17\n'  # line 12, truncated
    )
    stream, chunks = read_all(data)
    frame = chunks[0].frame
    assert frame.index.tolist() == [2, 8, 11]
    assert frame["notes"].tolist() == ["x\ny", "multi\nline\nhere", "15"]
    bad = {b.line: b.reason for c in chunks for b in c.bad_rows}
    assert sorted(bad) == [6, 7, 12]
    assert "expected 3" in bad[6]
    assert "quoted field is not closed" in bad[12]
    assert sum(c.blank_lines for c in chunks) == 2
    assert chunks[0].rows.tolist() == [2, 7, 8]  # spreadsheet rows: one per record


def test_header_names_are_normalised_and_repeats_kept_apart():
    stream, _ = read_all(b"Event_Date, event date ,NOTES\n1,2,3\n")
    assert stream.columns == ["event_date", "event_date_", "notes"]
    assert normalise_header("\ufeffEvent Date") == "event_date"


def test_utf8_bom_is_stripped_and_hash_covers_file_bytes():
    data = codecs.BOM_UTF8 + "a,b\nعربي,2\n".encode()
    stream, chunks = read_all(data)
    assert stream.columns == ["a", "b"]
    assert chunks[0].frame["a"].tolist() == ["عربي"]
    assert stream.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(separator):
    data = f"a{separator}b\n1{separator}2\n".encode()
    stream, chunks = read_all(data)
    assert stream.columns == ["a", "b"]
    assert chunks[0].frame.iloc[0].tolist() == ["1", "2"]


def test_gzip_and_zip_are_opened_and_hashed_as_delivered():
    plain = b"a,b\n1,2\n"
    packed = gzip.compress(plain)
    stream, chunks = read_all(packed)
    assert chunks[0].frame.iloc[0].tolist() == ["1", "2"]
    assert stream.sha256 == hashlib.sha256(packed).hexdigest()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("export.csv", plain)
    stream, chunks = read_all(archive.getvalue())
    assert chunks[0].frame.iloc[0].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "HTML"),
        (b'{"data": []}', "JSON"),
        (b"%PDF-1.7 ...", "PDF"),
        ("a,b\n1,caf\xe9\n".encode("latin-1"), "not valid UTF-8"),
        ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        (b"a,b\n1,\x002\n", "NUL byte"),
    ],
)
def test_unusable_files_get_one_clear_message(data, message):
    with pytest.raises(FileProblem, match=message):
        stream = CsvStream(io.BytesIO(data), "f.csv")
        list(stream.chunks(stream.columns))


def test_encoding_error_names_the_line():
    data = b"a,b\n1,2\n3,4\n5,caf\xe9\n"
    with pytest.raises(FileProblem, match="line 4 is not valid UTF-8"):
        read_all(data)


def test_row_larger_than_a_block_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("risk.incidents.csv_reader.BLOCK_SIZE", 1 << 10)
    data = b"a,b\n1,2\n" + b'3,"' + b"x" * 5000 + b'"\n'
    with pytest.raises(FileProblem, match="larger than"):
        read_all(data)
