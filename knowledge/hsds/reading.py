"""Reading one CSV file as a stream of records, forgiving about encodings and never stopping
at one bad line.

Each physical line is decoded on its own: UTF-8 where it is, Windows-1252 (what spreadsheets
export) where it is not, so one stray byte neither garbles the rest of the file nor hides a
UTF-8 byte-order mark. NUL bytes are dropped (PostgreSQL refuses them in text).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from knowledge.hsds.limits import ImportLimitError, ImportLimits

# The csv module refuses fields over 128 KiB and then cannot go on with the file; cells are
# measured against ImportLimits.max_cell_chars instead, which skips only the row. The file
# size limit bounds what a field can hold. (A process-wide setting: no caller wants the
# lower one.)
csv.field_size_limit(2**31 - 1)


@dataclass
class _Decoding:
    windows_1252_lines: int = 0
    nul_bytes: int = 0


@dataclass
class CsvStream:
    """A CSV file's header and then its records, read lazily; notes once it is read through."""

    path: Path
    display: str
    limits: ImportLimits
    header: list[str] = field(default_factory=list)
    error: str | None = None  # why reading stopped early, as "file:line: reason"
    read: int = 0
    _decoding: _Decoding = field(default_factory=_Decoding)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(physical line where the record starts, values) for every non-blank record after the
        header; the header is set before the first one. Blocking: run it in a thread."""
        with self.path.open("rb") as stream:
            reader = csv.reader(_text_lines(stream, self._decoding))
            previous_end = 0
            try:
                for values in reader:
                    start, previous_end = previous_end + 1, reader.line_num
                    if not any(value.strip() for value in values):
                        continue  # blank lines are not records
                    if not self.header:
                        self.header = [value.strip().lower() for value in values]
                        continue
                    self.read += 1
                    if self.read > self.limits.max_rows_per_file:
                        raise ImportLimitError(
                            f"{self.display}: more than {self.limits.max_rows_per_file:,} rows, "
                            "the limit for one file; nothing was imported."
                        )
                    yield start, values
            except csv.Error as error:
                line = previous_end + 1
                self.error = (
                    f"{self.display}:{line}: unreadable CSV ({error}); rest of file skipped"
                )

    @property
    def notes(self) -> list[str]:
        """Warnings about the file as a whole, once it has been read."""
        notes = []
        if self._decoding.windows_1252_lines:
            lines = self._decoding.windows_1252_lines
            notes.append(
                f"{self.display}: not UTF-8 ({lines:,} line{'s' if lines > 1 else ''}); "
                "read as Windows-1252"
            )
        if self._decoding.nul_bytes:
            notes.append(f"{self.display}: {self._decoding.nul_bytes:,} NUL bytes removed")
        return notes


def _text_lines(stream: BinaryIO, decoding: _Decoding) -> Iterator[str]:
    first = True
    for raw in stream:
        # Lines end in \n, \r\n or (old Mac exports) a lone \r.
        pieces = raw.splitlines(keepends=True) if b"\r" in raw else (raw,)
        for piece in pieces:
            if first:
                piece = piece.removeprefix(codecs.BOM_UTF8)
                first = False
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError:
                text = piece.decode("cp1252", errors="replace")
                decoding.windows_1252_lines += 1
            if "\x00" in text:
                decoding.nul_bytes += text.count("\x00")
                text = text.replace("\x00", "")
            yield text
