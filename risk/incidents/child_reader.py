"""Read and validate a big incident file in a child process, so parsing runs on another core.

Loading a big file is two jobs of about the same size: parsing and checking the rows (pyarrow
and pandas, mostly holding the GIL) and writing them (the database driver). In one process they
take turns on the GIL; with the reading in a child process they run side by side. Small files
are read in-process: starting a child (importing pandas and pyarrow) costs about a second.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO

from risk.incidents.formats import IncidentFile, LoadedChunk, open_incident_file

_log = logging.getLogger(__name__)

# Files from this size on are read in a child process; ``RISK_CHILD_READER_MB`` overrides it
# (0: always, for tests of the child path).
CHILD_READER_MB = 64


def child_reader_wanted(source: object) -> bool:
    """Whether ``source`` (a path, or an open file) is worth reading in a child process."""
    if not isinstance(source, str | Path):
        return False  # uploads arrive as in-memory files, and are small
    threshold = _threshold_mb()
    try:
        return Path(source).stat().st_size >= threshold * (1 << 20)
    except OSError:
        return False


def _threshold_mb() -> float:
    """RISK_CHILD_READER_MB; a value that is not a number is said and the default used (it
    only changes how fast a load runs, never what it loads)."""
    value = os.environ.get("RISK_CHILD_READER_MB", "").strip()
    if not value:
        return CHILD_READER_MB
    try:
        return float(value)
    except ValueError:
        _log.warning(
            "RISK_CHILD_READER_MB=%r is not a number of megabytes; using %d. Set it to a "
            "number (0: read every file in a child process) or unset it.",
            value,
            CHILD_READER_MB,
        )
        return CHILD_READER_MB


class ChildReadFile:
    """An :class:`IncidentFile` whose chunks are read and validated by a child process.

    The file is opened here first (format detection and header problems are raised at once,
    as in-process); the child opens it again and sends each validated chunk through a pipe.
    ``rows_read`` grows as chunks arrive; ``read_as`` and ``sha256`` are the child's, known
    once the last chunk has arrived.
    """

    def __init__(self, opened: IncidentFile, path: Path, file_format: str) -> None:
        self._opened = opened
        self._path = path
        self._file_format = file_format
        self.name = opened.name
        self.rows_read = 0
        self._read_as = opened.read_as
        self._sha256 = ""
        self._receiving: Generator[LoadedChunk] | None = None

    @property
    def format(self) -> str:
        return self._opened.format

    @property
    def read_as(self) -> str:
        return self._read_as

    @property
    def sha256(self) -> str:
        return self._sha256

    def chunks(self, ingest_time: int) -> Iterator[LoadedChunk]:
        """Validated chunks, in file order; the child's exceptions are raised here unchanged."""
        self._receiving = self._receive(ingest_time)
        return self._receiving

    def _receive(self, ingest_time: int) -> Generator[LoadedChunk]:
        # A plain child process (not multiprocessing's spawn, which re-imports the caller's
        # main module and so would run a script or the CLI again in the child). Its arguments
        # are ours: the file's path and name, a format name, a time.
        arguments = [str(self._path), self.name, self._file_format, str(ingest_time)]
        with (
            tempfile.TemporaryFile() as errors,
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", __name__, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_child_environment(),
            ) as child,
        ):
            try:
                while True:
                    try:
                        kind, *message = pickle.load(child.stdout)  # type: ignore[arg-type]  # noqa: S301 (our own child)
                    except EOFError:
                        raise RuntimeError(self._died(child, errors)) from None
                    if kind == "chunk":
                        chunk, self.rows_read = message
                        yield chunk
                    elif kind == "end":
                        self._read_as, self._sha256, self.rows_read = message
                        return
                    else:
                        raise message[0]
            finally:
                if child.poll() is None:  # stopped early: an error, a row limit
                    child.kill()

    def _died(self, child: subprocess.Popen[bytes], errors: IO[bytes]) -> str:
        code = child.wait()
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()[-1:]
        return f"the process reading {self.name} ended unexpectedly (exit code {code})" + (
            f": {said[0]}" if said else ""
        )

    def close(self) -> None:
        """Stop the child if it is still reading (the load failed or stopped early)."""
        if self._receiving is not None:
            self._receiving.close()
            self._receiving = None
        self._opened.close()


def _child_environment() -> dict[str, str]:
    """This environment, with the project on the child's path: the loader may have found it
    through its own ``sys.path`` (``streamlit run`` adds the script's folder), not the cwd."""
    project = str(Path(__file__).resolve().parents[2])
    paths = [project, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _read(path: Path, name: str, file_format: str, ingest_time: int) -> None:
    """The child: read ``path`` as the parent did, send each chunk, then the file's facts."""
    # Chunks go out on the original standard output; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)

    def send(*message: object) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        opened = open_incident_file(path, name=name, file_format=file_format)
        try:
            for chunk in opened.chunks(ingest_time):
                send("chunk", chunk, opened.rows_read)
            send("end", opened.read_as, opened.sha256, opened.rows_read)
        finally:
            opened.close()
    except BrokenPipeError:  # the loader stopped early or was killed: nobody is listening
        return
    except Exception as error:  # handed to the loader, which raises it
        send("error", error)


if __name__ == "__main__":
    path, name, file_format, ingest_time = sys.argv[1:]
    _read(Path(path), name, file_format, int(ingest_time))
