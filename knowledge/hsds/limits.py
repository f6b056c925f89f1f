"""How much one import may read: an upload is data from outside, and a 2 MB zip can hold 2 GB.

Each limit, when reached, stops the import with one line that names it (nothing is written:
the caller rolls back); a cell over the cell limit skips only its row.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.hsds.report import DirectoryFormatError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ImportLimits:
    # A zip's members as unpacked (only the CSV and datapackage.json members are unpacked).
    max_unpacked_bytes: int = 512 * MIB
    max_zip_members: int = 1_000
    # The CSV text of one import: parsed rows take several times this in memory.
    max_csv_bytes: int = 512 * MIB
    max_rows_per_file: int = 2_000_000
    # The longest description in the real directories is a few thousand characters.
    max_cell_chars: int = 65_536


DEFAULT_LIMITS = ImportLimits()


class ImportLimitError(DirectoryFormatError):
    """The import would go over one of the limits; the message names it."""


def megabytes(size: int) -> str:
    return f"{size / MIB:,.0f} MB" if size >= MIB else f"{size:,} bytes"
