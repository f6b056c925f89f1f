"""Import benchmark: `resource-finder import` of a generated 100k-service HSDS 3.0 folder on
SQLite, as a coordinator would run it (a real process), then the same folder again (updates),
then what the bot does at start: load the documents and build the index. Then the coverage
each real directory in ../shared/datasets gets (where present): how many of its services a
card can give an address, hours, a map pin, a phone, a service area.

    python -m benchmarks.import_bench [--services 100000] [--coverage-only]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.search_bench import ZONE, DirectoryGenerator, _rows

FILES = {
    "organization": "organizations.csv",
    "service": "services.csv",
    "location": "locations.csv",
    "service_at_location": "service_at_location.csv",
    "schedule": "schedules.csv",
    "language": "languages.csv",
    "taxonomy_term": "taxonomy_terms.csv",
    "attribute": "attributes.csv",
}


def write_folder(count: int, folder: Path) -> int:
    rows = _rows(DirectoryGenerator(seed=count + 3).documents(count))
    total = 0
    for table, name in FILES.items():
        table_rows = rows.get(table, [])
        columns = sorted({key for row in table_rows for key in row})
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(table_rows)
        total += len(table_rows)
    return total


def timed_import(folder: Path, database_url: str) -> float:
    env = {**os.environ, "DATABASE_URL": database_url}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "import", str(folder)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def startup_index(database_url: str) -> tuple[float, float]:
    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.lexicon import load_lexicon
    from knowledge.search import build_index

    engine = create_engine(database_url)
    started = time.perf_counter()
    async with create_sessionmaker(engine)() as session:
        index = await build_index(session, load_lexicon(), ZONE)
    total = time.perf_counter() - started
    await engine.dispose()
    return total - index.build_seconds, index.build_seconds


SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


async def dataset_coverage(folder: Path, database_url: str) -> list[str]:
    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.hsds import import_directory
    from knowledge.migrate import upgrade_database_async

    await upgrade_database_async(database_url)
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        started = time.perf_counter()
        report = await import_directory(session, folder)
        await session.commit()
        seconds = time.perf_counter() - started
    await engine.dispose()
    kept = report.files.get("services.csv")
    lines = [
        f"{folder.name} ({report.flavour}): {kept.inserted if kept else 0} services kept, "
        f"{sum(report.skipped_reasons.values())} rows skipped, in {seconds:.2f} s"
    ]
    if report.inferred:
        lines.append(
            "  inferred: " + ", ".join(f"{n} {what}" for what, n in report.inferred.items())
        )
    if report.coverage is not None:
        lines.append("  " + report.coverage.line())
    return lines


def print_coverage() -> None:
    folders = (
        sorted(p for p in SHARED_DATASETS.iterdir() if p.is_dir())
        if SHARED_DATASETS.is_dir()
        else []
    )
    if not folders:
        print("import coverage: no ../shared/datasets here")
        return
    with tempfile.TemporaryDirectory() as workspace:
        for number, folder in enumerate(folders):
            url = f"sqlite:///{workspace}/coverage-{number}.db"
            for line in asyncio.run(dataset_coverage(folder, url)):
                print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument(
        "--coverage-only", action="store_true", help="only the real directories' coverage"
    )
    args = parser.parse_args(argv)
    print_coverage()
    if args.coverage_only:
        return 0
    count = args.services
    with tempfile.TemporaryDirectory() as workspace:
        folder = Path(workspace) / "hsds"
        folder.mkdir()
        rows = write_folder(count, folder)
        url = f"sqlite:///{workspace}/import.db"
        first = timed_import(folder, url)
        again = timed_import(folder, url)
        load, build = asyncio.run(startup_index(url))
    print(
        f"import of {count:,} services ({rows:,} rows, SQLite): {first:.1f} s "
        f"(target <= 60 s); again, updating every row: {again:.1f} s"
    )
    print(f"bot start-up at {count:,} services: load {load:.1f} s + index build {build:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
