"""What an import says back: counts per file, skipped rows per reason, what was inferred, and
the coverage a family notices (how many services have an address, hours, a map pin, a phone)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


class DirectoryFormatError(ValueError):
    """The path is not something the importer can read as an HSDS directory."""


@dataclass
class FileCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    warned: int = 0


@dataclass(frozen=True)
class Coverage:
    """How much of the directory a card can actually show."""

    services: int
    with_address: int
    with_hours: int
    with_coordinates: int
    with_phone: int
    with_service_area: int

    def figures(self) -> dict[str, int]:
        return {
            "an address": self.with_address,
            "hours": self.with_hours,
            "coordinates": self.with_coordinates,
            "a phone": self.with_phone,
            "a service area": self.with_service_area,
        }

    def line(self) -> str:
        def share(count: int) -> str:
            return f"{count:,} with {{}} ({count / self.services:.0%})" if self.services else ""

        parts = [share(count).format(name) for name, count in self.figures().items()]
        return f"coverage of {self.services:,} services: " + ", ".join(parts)


@dataclass
class ImportReport:
    flavour: str = "hsds3"
    files: dict[str, FileCounts] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)
    # Rows skipped, by reason ("unknown location_id", "missing id", ...).
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    # What the importer filled in from elsewhere in the data, by what it is.
    inferred: Counter[str] = field(default_factory=Counter)
    coverage: Coverage | None = None

    @property
    def ok(self) -> bool:
        """False only when nothing at all went in (a directory that is all problems)."""
        return any(counts.inserted or counts.updated for counts in self.files.values())

    def summary_lines(self) -> list[str]:
        lines = [_counts_line(name, counts) for name, counts in self.files.items()]
        total = FileCounts()
        for counts in self.files.values():
            total.read += counts.read
            total.inserted += counts.inserted
            total.updated += counts.updated
            total.skipped += counts.skipped
            total.warned += counts.warned
        lines.append(_counts_line("total", total))
        if self.skipped_reasons:
            lines.append("skipped rows by reason: " + _tally(self.skipped_reasons))
        if self.inferred:
            lines.append("inferred: " + _tally(self.inferred))
        if self.coverage is not None:
            lines.append(self.coverage.line())
        if self.not_imported:
            lines.append("not imported: " + ", ".join(self.not_imported))
        return lines


def _tally(counter: Counter[str]) -> str:
    return ", ".join(f"{count:,} {reason}" for reason, count in counter.most_common())


def _counts_line(name: str, counts: FileCounts) -> str:
    line = (
        f"{name}: {counts.read} read, {counts.inserted} new, {counts.updated} updated, "
        f"{counts.skipped} skipped"
    )
    return line + (f", {counts.warned} warned" if counts.warned else "")
