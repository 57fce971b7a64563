"""Read incident CSV files in bounded chunks, with the line number of every row.

Handles what files in the wild bring: gzip or single-file zip compression, a UTF-8 byte order
mark, comma / semicolon / tab separators, quoted fields with newlines, blank lines and rows with
the wrong number of fields. Anything that makes the file unusable as a whole (not UTF-8, binary,
HTML, JSON, no header) raises :class:`FileProblem` with a message that says what, where and what
to do. Parsing is pyarrow's streaming reader, so memory stays bounded by the block size.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# Bytes pyarrow parses at a time; two blocks make a chunk. A single row must fit in one block
# (pyarrow's rule), so this is also the largest row we can read; the schema rejects far smaller
# fields anyway. Memory grows with the block size (pyarrow's reader holds dozens of blocks):
# reading a 1M-row ACLED file peaks near 330 MB with 4 MB blocks, 550 MB with 8 MB.
BLOCK_SIZE = 4 << 20
HEADER_LIMIT = 4 << 20
SEPARATORS = (",", ";", "\t")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


class FileProblem(ValueError):
    """The file cannot be used at all; the message is meant for the person who supplied it."""


@dataclass(frozen=True)
class BadRow:
    """A row the CSV parser could not split into the header's columns."""

    line: int
    row: int
    reason: str
    text: str


@dataclass
class RawChunk:
    """A block of rows as strings, indexed by the physical line each row starts on."""

    frame: pd.DataFrame
    rows: np.ndarray  # 1-based record numbers (a spreadsheet's row numbers; header is row 1)
    bad_rows: list[BadRow] = field(default_factory=list)
    blank_lines: int = 0


def normalise_header(name: str) -> str:
    """Header names compare case- and space-insensitively: ``Event Date`` is ``event_date``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


class _HashingReader(io.RawIOBase):
    """Pass bytes through while computing their sha256."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        if not data:
            return 0
        self.sha256.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)


class _TextCheckingReader(io.RawIOBase):
    """Pass a byte stream through while proving it is UTF-8 text, with a peekable head.

    Strips a UTF-8 byte order mark; stops at the first byte that is not UTF-8 or is NUL, with
    the line it is on.
    """

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self._raw = raw
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._pending = b""
        self._lines_before = 0
        self._started = False
        self._finished = False

    def readable(self) -> bool:
        return True

    def _read_checked(self, size: int) -> bytes:
        data = self._raw.read(size)
        if not self._started:
            self._started = True
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
        if not data:
            if not self._finished:
                self._finished = True
                try:
                    self._decoder.decode(b"", final=True)
                except UnicodeDecodeError as error:
                    raise FileProblem(
                        f"{self._name}: the file ends in the middle of a UTF-8 character "
                        f"(line {self._lines_before + 1}); the file looks truncated"
                    ) from error
            return b""
        nul = data.find(b"\0")
        if nul >= 0:
            line = self._lines_before + data.count(b"\n", 0, nul) + 1
            raise FileProblem(
                f"{self._name}: line {line} contains a NUL byte; this is a binary file or a "
                "corrupted CSV, not a text CSV"
            )
        try:
            self._decoder.decode(data)
        except UnicodeDecodeError as error:
            line = self._lines_before + data.count(b"\n", 0, max(error.start, 0)) + 1
            bad = data[max(error.start, 0) : max(error.start, 0) + 1]
            raise FileProblem(
                f"{self._name}: line {line} is not valid UTF-8 (byte 0x{bad.hex() or '??'}); "
                "the file is probably Windows-1252 or Latin-1 encoded. Save it as UTF-8 "
                "(in Excel: 'CSV UTF-8 (comma delimited)') and load it again"
            ) from error
        self._lines_before += data.count(b"\n")
        return data

    def peek_head(self, size: int) -> bytes:
        """Read ahead at least ``size`` bytes (fewer at end of file) without consuming them."""
        while len(self._pending) < size:
            data = self._read_checked(max(size - len(self._pending), 1 << 16))
            if not data:
                break
            self._pending += data
        return self._pending

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._pending:
            data, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        else:
            data = self._read_checked(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _open_decompressed(raw: BinaryIO, name: str) -> BinaryIO:
    """Undo gzip or single-member zip compression; plain files pass through."""
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if magic == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as error:
            raise FileProblem(f"{name}: the zip archive is damaged ({error})") from error
        members = [m for m in archive.infolist() if not m.is_dir()]
        names = {m.filename for m in members}
        if "[Content_Types].xml" in names:
            kind = (
                "an Excel workbook"
                if any(n.startswith("xl/") for n in names)
                else ("an Office document")
            )
            raise FileProblem(
                f"{name}: this is {kind}, not a CSV; open it and save it as "
                "'CSV UTF-8 (comma delimited)', then load that file"
            )
        csvs = [m for m in members if m.filename.lower().endswith((".csv", ".txt", ".tsv"))]
        if len(csvs) != 1:
            listing = ", ".join(m.filename for m in members[:5]) or "nothing"
            raise FileProblem(
                f"{name}: a zip archive must hold exactly one CSV file; it holds {listing}"
            )
        return archive.open(csvs[0])  # type: ignore[return-value]
    return raw


def _describe_non_csv(head: bytes) -> str | None:
    text = head[:2048].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        text.startswith(b"<") and b"<html" in text
    ):
        return "it is an HTML page (an error or login page saved instead of the data?)"
    if text.startswith(b"<?xml"):
        return "it is an XML document"
    if text.startswith((b"{", b"[")):
        return "it is JSON, not CSV"
    if text.startswith(b"%pdf"):
        return "it is a PDF document"
    control = sum(1 for byte in head[:4096] if byte < 9 or 13 < byte < 32)
    if control > 8:
        return "it contains binary data"
    return None


def _header_line(head: str) -> str:
    """The first record of the file (a header may itself contain quoted newlines)."""
    in_quotes = False
    for index, char in enumerate(head):
        if char == '"':
            in_quotes = not in_quotes
        elif char == "\n" and not in_quotes:
            return head[:index].rstrip("\r")
    return head.rstrip("\r\n")


def _split_header(header: str, separator: str) -> list[str]:
    """The header's field names; csv.Error when the line is not valid CSV."""
    return next(csv.reader(io.StringIO(header), delimiter=separator), [])


def _detect_separator(header: str) -> str:
    counts = {}
    for sep in SEPARATORS:
        try:
            counts[sep] = len(_split_header(header, sep))
        except csv.Error:
            counts[sep] = 0
    return max(SEPARATORS, key=lambda sep: counts[sep])


class CsvStream:
    """One incident file opened for streaming; construct, inspect ``columns``, then iterate.

    ``source`` is a path or a seekable binary file (an upload). The sha256 of the file's bytes
    is available once the chunks have been read to the end.
    """

    def __init__(self, source: Path | BinaryIO, name: str | None = None) -> None:
        self.name = name or (source.name if isinstance(source, Path) else "upload")
        self._source = source
        self._owned: list[BinaryIO] = []
        self.separator = ","
        self.columns: list[str] = []
        self.original_columns: list[str] = []
        self.compression: str | None = None
        self._open()

    # -- opening and sniffing -------------------------------------------------------------
    def _open_raw(self) -> BinaryIO:
        if isinstance(self._source, Path):
            try:
                raw: BinaryIO = open(self._source, "rb")  # noqa: SIM115 - closed in close()
            except FileNotFoundError as error:
                raise FileProblem(f"{self._source}: no such file") from error
            except IsADirectoryError as error:
                raise FileProblem(f"{self._source}: is a folder, not a file") from error
            except PermissionError as error:
                raise FileProblem(f"{self._source}: permission denied") from error
            self._owned.append(raw)
            return raw
        self._source.seek(0)
        return self._source

    def _open(self) -> None:
        raw = self._open_raw()
        self._hashing: _HashingReader = _HashingReader(raw)
        buffered = io.BufferedReader(self._hashing, buffer_size=1 << 20)
        magic = buffered.peek(4)[:4]
        self.compression = (
            "gzip" if magic[:2] == b"\x1f\x8b" else "zip" if magic == b"PK\x03\x04" else None
        )
        if self.compression == "zip":
            # zipfile needs to seek, so the archive is read (and hashed) whole first.
            stream: BinaryIO = _open_decompressed(io.BytesIO(buffered.read()), self.name)
        elif self.compression == "gzip":
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
        else:
            stream = buffered  # type: ignore[assignment]
        try:
            # Recognise PDFs, HTML pages and binaries before any encoding complaint about them.
            raw_head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise FileProblem(f"{self.name}: the compressed file is damaged ({error})") from error
        if raw_head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileProblem(
                f"{self.name}: the file is UTF-16 encoded; save it as UTF-8 "
                "(in Excel: 'CSV UTF-8 (comma delimited)') and load it again"
            )
        problem = _describe_non_csv(raw_head.lstrip(codecs.BOM_UTF8))
        if problem:
            raise FileProblem(f"{self.name}: this is not a CSV file: {problem}")
        self._text: _TextCheckingReader = _TextCheckingReader(stream, self.name)
        try:
            head = self._text.peek_head(1 << 16)
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise FileProblem(f"{self.name}: the compressed file is damaged ({error})") from error
        if not head.strip():
            raise FileProblem(f"{self.name}: the file is empty")
        head_text = head.decode("utf-8", errors="ignore")
        while "\n" not in head_text and len(head) < HEADER_LIMIT:
            bigger = self._text.peek_head(len(head) * 4)
            if len(bigger) == len(head):
                break
            head = bigger
            head_text = head.decode("utf-8", errors="ignore")
        header = _header_line(head_text)
        self._header_newlines = header.count("\n")
        self.separator = _detect_separator(header)
        try:
            self.original_columns = _split_header(header, self.separator)
        except csv.Error as error:
            raise FileProblem(
                f"{self.name}: line 1 (the header) is not valid CSV ({error}); check its quotes"
            ) from None
        names: list[str] = []
        for raw_name in self.original_columns:
            name = normalise_header(raw_name) or f"column_{len(names) + 1}"
            while name in names:  # repeated names (a column saved twice) get a suffix
                name += "_"
            names.append(name)
        self.columns = names
        self.has_data = head_text.strip() != header.strip()

    def describe(self) -> str:
        """How the file was read, for the 'read as' line shown to the user."""
        parts = [f"{len(self.columns)} columns", f"{_SEPARATOR_NAMES[self.separator]}-separated"]
        if self.compression:
            parts.append(f"{self.compression}-compressed")
        return ", ".join(parts)

    @property
    def sha256(self) -> str:
        return self._hashing.sha256.hexdigest()

    @property
    def size(self) -> int:
        return self._hashing.size

    def close(self) -> None:
        for handle in self._owned:
            handle.close()
        self._owned.clear()

    # -- streaming ------------------------------------------------------------------------
    def chunks(self, wanted: list[str]) -> Iterator[RawChunk]:
        """Yield the ``wanted`` columns (missing ones are absent) as string chunks."""
        present = [c for c in wanted if c in self.columns]
        # Count newlines inside quoted fields in every column, so line numbers stay exact,
        # unless the file is absurdly wide (then only the wanted columns are converted).
        convert = self.columns if len(self.columns) <= 200 else present
        bad: list[tuple[int, str, int]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            bad.append((row.number or -1, row.text, row.actual_columns))
            return "skip"

        expected = len(self.columns)
        try:
            reader = pacsv.open_csv(
                self._text,
                read_options=pacsv.ReadOptions(
                    block_size=BLOCK_SIZE,
                    use_threads=False,
                    column_names=self.columns,
                    skip_rows=1,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.separator,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in convert},
                    include_columns=convert,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as error:
            raise self._parse_problem(error, 2) from error
        next_row = 2  # record 1 is the header
        embedded_before = self._header_newlines  # newlines inside quotes in earlier records
        # Two parsed blocks make one chunk: pyarrow's reader holds dozens of blocks in memory,
        # so its blocks are kept small, while checking rows costs per chunk as well as per row.
        pending: RawChunk | None = None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as error:
                raise self._parse_problem(error, next_row + embedded_before) from error
            except UnicodeDecodeError as error:  # pragma: no cover - caught earlier by checks
                raise FileProblem(f"{self.name}: not valid UTF-8 ({error})") from error
            chunk, next_row, embedded_before = self._chunk(
                batch, bad, next_row, embedded_before, expected, present
            )
            bad.clear()
            if pending is None:
                pending = chunk
                continue
            yield _joined(pending, chunk)
            pending = None
        if bad:  # invalid rows after the last batch (e.g. a truncated last line)
            chunk, next_row, embedded_before = self._chunk(
                None, bad, next_row, embedded_before, expected, present
            )
            pending = chunk if pending is None else _joined(pending, chunk)
        if pending is not None:
            yield pending

    def _chunk(
        self,
        batch: pa.RecordBatch | None,
        bad: list[tuple[int, str, int]],
        next_row: int,
        embedded_before: int,
        expected: int,
        present: list[str],
    ) -> tuple[RawChunk, int, int]:
        """Number the rows of one parsed block; return the chunk, next record, newlines so far."""
        count = 0 if batch is None else batch.num_rows
        located = [(n, text, fields) for n, text, fields in bad if n > 0]
        bad_numbers = np.array(sorted(n for n, _, _ in located), dtype=np.int64)
        # Valid rows take, in order, the record numbers that invalid rows did not use.
        numbers = np.arange(next_row, next_row + count + len(bad_numbers), dtype=np.int64)
        numbers = numbers[~np.isin(numbers, bad_numbers)][:count]
        embedded = np.zeros(count, dtype=np.int64)
        if batch is not None:
            for column in batch.columns:
                counts = pc.count_substring(column, "\n")
                if pc.max(counts).as_py():
                    embedded += counts.to_numpy(zero_copy_only=False)
        by_number = {n: (text, fields) for n, text, fields in located}
        bad_embedded = np.array([by_number[n][0].count("\n") for n in bad_numbers], np.int64)
        # A record's line = its record number + newlines inside quotes in all earlier records.
        all_numbers = np.concatenate([numbers, bad_numbers])
        all_embedded = np.concatenate([embedded, bad_embedded])
        order = np.argsort(all_numbers, kind="stable")
        before = np.cumsum(all_embedded[order]) - all_embedded[order] + embedded_before
        lines = np.empty_like(all_numbers)
        lines[order] = all_numbers[order] + before
        bad_rows = [
            BadRow(int(line), int(n), _field_count_reason(by_number[n][1], expected, text), text)
            for n, line, text in zip(
                bad_numbers, lines[count:], (by_number[n][0] for n in bad_numbers), strict=True
            )
        ]
        bad_rows += [  # pyarrow could not say where these were; report what we know
            BadRow(-1, -1, _field_count_reason(fields, expected, text), text)
            for n, text, fields in bad
            if n <= 0
        ]
        frame = (
            batch.select(present).to_pandas()
            if batch is not None and present
            else pd.DataFrame(index=pd.RangeIndex(count))
        )
        frame.index = pd.Index(lines[:count], name="line")
        blank = 0
        if batch is not None and count:
            empty = np.ones(count, dtype=bool)
            for column in batch.columns:
                empty &= pc.equal(column, "").to_numpy(zero_copy_only=False)
            blank = int(empty.sum())
            if blank:
                frame, numbers = frame[~empty], numbers[~empty]
        last = int(all_numbers.max()) if len(all_numbers) else next_row - 1
        newlines = embedded_before + int(all_embedded.sum())
        chunk = RawChunk(frame=frame, rows=numbers, bad_rows=bad_rows, blank_lines=blank)
        return chunk, last + 1, newlines

    def _parse_problem(self, error: Exception, line: int) -> FileProblem:
        text = str(error)
        if "straddl" in text:
            return FileProblem(
                f"{self.name}: near line {line} a row is larger than {BLOCK_SIZE >> 20} MB; "
                "a quoted field is probably not closed (an unbalanced quote) or a field holds "
                "megabytes of text. Fix that row and load the file again"
            )
        return FileProblem(f"{self.name}: the CSV cannot be parsed near line {line}: {text}")


def _joined(first: RawChunk, second: RawChunk) -> RawChunk:
    """Two consecutive chunks as one."""
    return RawChunk(
        frame=pd.concat([first.frame, second.frame]),
        rows=np.concatenate([first.rows, second.rows]),
        bad_rows=[*first.bad_rows, *second.bad_rows],
        blank_lines=first.blank_lines + second.blank_lines,
    )


def _field_count_reason(fields: int, expected: int, text: str) -> str:
    if text.count('"') % 2:
        return (
            f"has {fields} fields, expected {expected}: a quoted field is not closed "
            "(a truncated line?)"
        )
    if fields < expected:
        return f"has {fields} fields, expected {expected} (a truncated line?)"
    return f"has {fields} fields, expected {expected} (an unquoted separator inside a value?)"
