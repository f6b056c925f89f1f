"""The US ZIP codes, towns and counties of the `zipcodes` package, compacted into a cache file
once per machine and read into the Gazetteer (knowledge.places) once per process."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import zipcodes  # type: ignore[import-untyped]

from knowledge.places import Gazetteer, county_words, town_words

log = logging.getLogger(__name__)

# One US ZIP code: code, town, county, state (folded, as matched), centre, the town's other
# names ("S San Fran" and the like), its time zone, as the cache file keeps them.
CompactRow = tuple[str, str, str, str, float | None, float | None, list[str], str]


def _compact(row: dict[str, Any]) -> CompactRow:
    lat: float | None
    lon: float | None
    try:
        lat, lon = float(row["lat"]), float(row["long"])
    except (TypeError, ValueError):
        lat = lon = None
    return (
        str(row["zip_code"]),
        town_words(str(row["city"])),
        county_words(str(row.get("county") or "")),
        str(row["state"]),
        lat,
        lon,
        [town_words(str(name)) for name in row.get("acceptable_cities") or []],
        str(row.get("timezone") or ""),
    )


def write_compact_places(path: Path) -> None:
    """The zipcodes package's active US ZIP codes, compacted, to `path` (gzipped JSON)."""
    rows = [_compact(row) for row in zipcodes.list_all() if row.get("active", True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")  # two first runs at once
    partial.write_bytes(gzip.compress(json.dumps(rows, separators=(",", ":")).encode()))
    partial.replace(path)


CACHE_FORMAT = 2  # raised when CompactRow changes (2: time zones)


@lru_cache(maxsize=1)
def us_gazetteer() -> Gazetteer:
    """The whole US, once per process. The package builds 42,000 dictionaries (two seconds,
    over 150 MB that a process never gives back), so a child process compacts them into a
    cache file once per machine and package version; reading that takes a fraction of it."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "resource-finder"
    path = cache / f"us-places-{zipcodes.__version__}-{CACHE_FORMAT}.json.gz"
    try:
        if not path.exists():
            subprocess.run(
                [sys.executable, "-m", "knowledge.us_places", str(path)],
                check=True,
                capture_output=True,
            )
        rows = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, subprocess.CalledProcessError, ValueError):
        # No writable cache (a read-only home in a container): pay the memory, keep the places.
        log.warning("No place cache at %s; reading the ZIP tables in this process", cache)
        return Gazetteer(_compact(row) for row in zipcodes.list_all() if row.get("active", True))
    return Gazetteer(tuple(row) for row in rows)


if __name__ == "__main__":  # the child process us_gazetteer() starts
    write_compact_places(Path(sys.argv[1]))
