"""The search measured on real directories (issue 11): the shared datasets imported without the
demo, every query of a labelled set asked as a family would ask it in the bot.

Shared by tests/test_relevance_real.py (which asserts the dev set's rates) and
benchmarks/search_bench.py (which prints both real sets). Run it alone with
`python tests/relevance/real.py` for the dev sets' misses; the holdout set only ever gives
aggregate figures (its queries are not for reading while tuning).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

RELEVANCE = Path(__file__).parent
DEV_FILE = RELEVANCE / "real_directories.yaml"
DEV2_FILE = RELEVANCE / "real_directories_dev2.yaml"  # 2nd to 23rd blind sets, written
DEV3_FILE = RELEVANCE / "real_directories_dev3.yaml"  # later by other hands
DEV4_FILE = RELEVANCE / "real_directories_dev4.yaml"
DEV5_FILE = RELEVANCE / "real_directories_dev5.yaml"
DEV6_FILE = RELEVANCE / "real_directories_dev6.yaml"
DEV7_FILE = RELEVANCE / "real_directories_dev7.yaml"
DEV8_FILE = RELEVANCE / "real_directories_dev8.yaml"
DEV9_FILE = RELEVANCE / "real_directories_dev9.yaml"
DEV10_FILE = RELEVANCE / "real_directories_dev10.yaml"
DEV11_FILE = RELEVANCE / "real_directories_dev11.yaml"
DEV12_FILE = RELEVANCE / "real_directories_dev12.yaml"
DEV13_FILE = RELEVANCE / "real_directories_dev13.yaml"
DEV14_FILE = RELEVANCE / "real_directories_dev14.yaml"
DEV15_FILE = RELEVANCE / "real_directories_dev15.yaml"
DEV16_FILE = RELEVANCE / "real_directories_dev16.yaml"
DEV17_FILE = RELEVANCE / "real_directories_dev17.yaml"
DEV18_FILE = RELEVANCE / "real_directories_dev18.yaml"
DEV19_FILE = RELEVANCE / "real_directories_dev19.yaml"
DEV20_FILE = RELEVANCE / "real_directories_dev20.yaml"
DEV21_FILE = RELEVANCE / "real_directories_dev21.yaml"
DEV22_FILE = RELEVANCE / "real_directories_dev22.yaml"
DEV23_FILE = RELEVANCE / "real_directories_dev23.yaml"
HOLDOUT_FILE = RELEVANCE / "real_directories_holdout.yaml"
DATASET_NAMES = ("san-mateo-hsds3", "illinois-legal-aid-hsds1", "hsds3-spec-example")
ZONE = ZoneInfo("America/Chicago")  # the sets' "now" moments carry their own offsets
# A question without its own moment is asked on a Tuesday morning, when offices are open: the
# figures must not depend on the hour the suite runs ("legal help on Friday" asked on a Friday
# evening is asked for what is left of that day).
ASKED_AT = datetime(2026, 12, 8, 10, 0, tzinfo=ZONE)


def find_datasets() -> Path | None:
    """../shared/datasets beside the checkout, or /work/shared/datasets; None if absent."""
    for folder in (Path(__file__).resolve().parents[3] / "shared" / "datasets",
                   Path("/work/shared/datasets")):  # fmt: skip
        if all((folder / name).is_dir() for name in DATASET_NAMES):
            return folder
    return None


@dataclass(frozen=True, slots=True)
class RealQuery:
    query: str
    expect: frozenset[str]
    lang: str | None = None
    near: tuple[float, float] | None = None
    now: datetime | None = None


def load_real_queries(path: Path) -> list[RealQuery]:
    rows: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = []
    for row in rows:
        now = row.get("now")
        if isinstance(now, str):
            now = datetime.fromisoformat(now)
        near = row.get("near")
        queries.append(
            RealQuery(
                query=str(row["query"]),
                expect=frozenset(str(i) for i in row["expect"]),
                lang=row.get("lang"),
                near=(float(near[0]), float(near[1])) if near else None,
                now=now,
            )
        )
    return queries


@dataclass(slots=True)
class RealReport:
    name: str
    total: int = 0
    top1: int = 0
    top3: int = 0
    unanswerable: int = 0  # queries expecting nothing
    silent: int = 0  # ...that got nothing, as they should
    confident_wrong: int = 0  # a first result that is not a right answer
    misses: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)

    def rate(self, count: int, of: int | None = None) -> float:
        whole = self.total if of is None else of
        return count / whole if whole else 0.0

    def summary(self) -> str:
        return (
            f"{self.name}: {self.total} queries, top-1 {self.rate(self.top1):.1%}, "
            f"top-3 {self.rate(self.top3):.1%}, nothing when nothing fits "
            f"{self.rate(self.silent, self.unanswerable):.1%} ({self.silent}/{self.unanswerable}),"
            f" confident wrong {self.rate(self.confident_wrong):.1%}"
        )


async def build_real_index(datasets: Path, database_folder: Path) -> Any:
    """Import the three datasets (no demo) into a fresh SQLite file, as `db upgrade` and
    `import` do, and build the bot's search index from it."""
    from knowledge.content import bump_content_version
    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.hsds import import_directory
    from knowledge.lexicon import default_lexicon
    from knowledge.search import build_index
    from knowledge.setup import prepare_database

    url = f"sqlite:///{database_folder}/real.db"
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        await prepare_database(url, sessions, demo=False)
        for name in DATASET_NAMES:
            async with sessions() as session, session.begin():
                await import_directory(session, datasets / name)
                await bump_content_version(session)
        async with sessions() as session:
            return await build_index(session, default_lexicon(), ZONE)
    finally:
        await engine.dispose()


def ask(index: Any, item: RealQuery, limit: int = 5) -> list[str]:
    """Ids a family asking `item` would be shown, best first (as bot/handlers/families.py asks)."""
    from knowledge.search import SearchQuery, read_open_day, read_open_now

    question, open_now = read_open_now(item.query)
    question, open_day = read_open_day(question, (item.now or ASKED_AT).weekday())
    query = SearchQuery(
        text=question,
        language=item.lang,
        limit=limit,
        near=item.near,
        open_now=open_now,
        open_day=open_day,
        kinds=frozenset({"service"}) if item.near else None,
    )
    return [hit.id for hit in index.search(query, now=item.now or ASKED_AT).hits]


def evaluate_real(index: Any, name: str, queries: list[RealQuery]) -> RealReport:
    report = RealReport(name)
    for item in queries:
        ids = ask(index, item)
        report.total += 1
        if not item.expect:
            report.unanswerable += 1
            if ids:
                report.confident_wrong += 1
                report.misses.append(f"{item.query!r}: expected nothing, got {ids[:3]}")
            else:
                report.silent += 1
                report.top1 += 1
                report.top3 += 1
            continue
        if ids[:1] and ids[0] in item.expect:
            report.top1 += 1
        elif ids:
            report.confident_wrong += 1
        if item.expect.intersection(ids[:3]):
            report.top3 += 1
            if ids[0] not in item.expect:
                expected = sorted(item.expect)[:4]
                report.weak.append(f"{item.query!r}: first {ids[0]}, expected {expected}")
        else:
            report.misses.append(
                f"{item.query!r}: expected {sorted(item.expect)[:4]}, got {ids[:3]}"
            )
    return report


async def measure_real(datasets: Path) -> list[RealReport]:
    """The dev sets' reports, then the holdout's; only the dev reports' misses are for
    reading."""
    with tempfile.TemporaryDirectory() as folder:
        index = await build_real_index(datasets, Path(folder))
    reports = [
        evaluate_real(index, name, load_real_queries(path))
        for name, path in (
            ("real dev", DEV_FILE),
            ("real dev2", DEV2_FILE),
            ("real dev3", DEV3_FILE),
            ("real dev4", DEV4_FILE),
            ("real dev5", DEV5_FILE),
            ("real dev6", DEV6_FILE),
            ("real dev7", DEV7_FILE),
            ("real dev8", DEV8_FILE),
            ("real dev9", DEV9_FILE),
            ("real dev10", DEV10_FILE),
            ("real dev11", DEV11_FILE),
            ("real dev12", DEV12_FILE),
            ("real dev13", DEV13_FILE),
            ("real dev14", DEV14_FILE),
            ("real dev15", DEV15_FILE),
            ("real dev16", DEV16_FILE),
            ("real dev17", DEV17_FILE),
            ("real dev18", DEV18_FILE),
            ("real dev19", DEV19_FILE),
            ("real dev20", DEV20_FILE),
            ("real dev21", DEV21_FILE),
            ("real dev22", DEV22_FILE),
            ("real dev23", DEV23_FILE),
        )
    ]
    holdout = evaluate_real(index, "real holdout", load_real_queries(HOLDOUT_FILE))
    holdout.misses, holdout.weak = [], []
    return [*reports, holdout]


def main() -> int:
    datasets = find_datasets()
    if datasets is None:
        print("no shared datasets here")
        return 1
    reports = asyncio.run(measure_real(datasets))
    for report in reports:  # the holdout's lists are empty
        for line in report.misses:
            print(f"{report.name} miss: {line}")
        for line in report.weak:
            print(f"{report.name} not first: {line}")
    for report in reports:
        print(report.summary())
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(RELEVANCE.parents[1]))
    raise SystemExit(main())
