"""HSDS import and export: Open Referral CSV folders, zips and datapackages in, HSDS 3.0 CSV out.

The importer is forgiving about the mess real directories ship with (BOMs, stray encodings,
blank ids, links to rows that are not there, HSDS 1.x habits) but never silent: every row it
skips or changes is named in the report as `file:line: reason`, and what it inferred is
counted. It reads only inside what it was given, within limits (limits.py). It writes through
the caller's session with bulk upserts and never commits, so the caller decides whether the
whole import lands or none of it.

    sources.py   finding the files (folder, zip, datapackage.json), confined and capped
    reading.py   one CSV file as a stream of records (encodings, BOM, NUL)
    files.py     the file names understood, HSDS 3.0 and 1.x (hsds1.py: the 1.x rewrites)
    checking.py  records -> rows: cleaning values, checking references
    importer.py  one import, file by file; inference.py what 1.x leaves to the organization
    coverage.py  how many services have an address, hours, coordinates, a phone
    export.py    HSDS 3.0 CSV out
"""

from knowledge.hsds.export import export_directory
from knowledge.hsds.importer import import_directory
from knowledge.hsds.inference import is_stand_in_name
from knowledge.hsds.limits import DEFAULT_LIMITS, ImportLimitError, ImportLimits
from knowledge.hsds.report import Coverage, DirectoryFormatError, FileCounts, ImportReport

__all__ = [
    "DEFAULT_LIMITS",
    "Coverage",
    "DirectoryFormatError",
    "FileCounts",
    "ImportLimitError",
    "ImportLimits",
    "ImportReport",
    "export_directory",
    "import_directory",
    "is_stand_in_name",
]
