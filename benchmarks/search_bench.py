"""Search benchmark: `python -m benchmarks.search_bench`. It prints figures; it asserts nothing.

For generated directories of 1k, 10k and 100k services (each measured in a child process, so
that its memory is its own):
- index build time, from Document objects, and resident memory (RSS) once built;
- p50 / p99 milliseconds per query over a fixed list of queries (the relevance set plus typos);
- a naive baseline over the same texts in the same run, rapidfuzz.process.extract(query, texts,
  scorer=fuzz.WRatio, limit=5), on a sample of the queries (it needs seconds a query at 100k),
  and how many times faster the index is on that sample.
Then loading and building from a 10k-service SQLite database, the demo relevance set's top-1 /
top-3 against the built-in content, and the real directories' dev and holdout sets
(tests/relevance/real.py: top-1, top-3, silence when nothing fits, confident wrong answers).
`--sizes 1000,10000` measures fewer sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from knowledge.content import DEMO_DIRECTORY
from knowledge.hours import weekly_intervals
from knowledge.lexicon import load_lexicon
from knowledge.search import Document, SearchIndex, SearchQuery
from knowledge.us_places import us_gazetteer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the labelled queries live with the tests

from relevance import evaluate, load_queries  # noqa: E402
from relevance.real import find_datasets, measure_real  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
DATABASE_SIZE = 10_000
ZONE = ZoneInfo("America/Chicago")
RIVERBEND = (41.60, -93.61)
# Queries the naive baseline gets at each size (it takes seconds a query at 100k).
BASELINE_SAMPLE = {1_000: 100, 10_000: 30, 100_000: 20}
TARGETS = "targets at 100k: p99 <= 10 ms, >= 30x the baseline, build <= 5 s, RSS <= 300 MB"

SYLLABLES = (
    "ash bel bro cal dal den el fal gar han hol ing kel lan lor mar mel mon nor ol pen "
    "ran ril ros san sel ston tal ter ton val ver wal win wood ford dale ham ley by vik "
    "ora ena ita ez ari uel qui jo"
).split()
KINDS_OF_PLACE = (
    "Community Center", "Family Services", "Health Clinic", "Church", "Library", "Food Bank",
    "Legal Aid Society", "Youth League", "Elementary School", "Middle School", "High School",
    "Neighborhood Association", "Housing Authority", "Workforce Center", "Mission", "Foundation",
    "Boys & Girls Club", "Parish", "Recreation Center", "Resource Center",
)  # fmt: skip
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --- a directory that reads like a real one ----------------------------------------------------


def _demo_rows(name: str) -> list[dict[str, str]]:
    with (DEMO_DIRECTORY / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class DirectoryGenerator:
    """Services that read like the demo town's, at any size.

    Names and descriptions reuse the demo directory's names and sentences and the lexicon's
    service-side words, with random proper names (people, places, streets, organizations) mixed
    in, so the vocabulary keeps growing with the directory the way a real one's does.
    """

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        lexicon = load_lexicon()
        self.concepts = [c.id for c in lexicon.concepts]
        self.terms = {c.id: c.terms for c in lexicon.concepts}
        terms = _demo_rows("taxonomy_terms.csv")
        self.term_name = {row["code"]: row["name"] for row in terms}
        code_of_term = {row["id"]: row["code"] for row in terms}
        self.names_by_concept: dict[str, list[str]] = defaultdict(list)
        services = {row["id"]: row for row in _demo_rows("services.csv")}
        for row in _demo_rows("attributes.csv"):
            service = services.get(row["link_id"])
            if service:
                self.names_by_concept[code_of_term[row["taxonomy_term_id"]]].append(service["name"])
        self.sentences = [
            sentence.strip()
            for service in services.values()
            for text in (service["description"], service["eligibility_description"])
            for sentence in text.split(". ")
            if len(sentence.split()) > 3
        ]
        self.words = sorted(
            {w for s in self.sentences for w in s.split() if w.isalpha() and len(w) > 3}
        )

    def proper_name(self) -> str:
        parts = self.random.choices(SYLLABLES, k=self.random.choice((2, 2, 3, 3, 4)))
        return "".join(parts).capitalize()

    def _sentence(self) -> str:
        words = self.random.choice(self.sentences).split()
        for _ in range(self.random.randint(1, 3)):  # vary it: a pool word or a proper name
            position = self.random.randrange(len(words))
            words[position] = (
                self.proper_name() if self.random.random() < 0.4 else self.random.choice(self.words)
            )
        return " ".join(words).rstrip(".") + "."

    def document(self, number: int) -> Document:
        r = self.random
        concepts = r.sample(self.concepts, k=r.choice((1, 1, 1, 2)))
        main = concepts[0]
        organization = f"{self.proper_name()} {r.choice(KINDS_OF_PLACE)}"
        if self.names_by_concept[main] and r.random() < 0.7:
            base = r.choice(self.names_by_concept[main])
        else:
            base = " ".join(r.sample(self.terms[main], k=min(2, len(self.terms[main])))).title()
        title = f"{self.proper_name()} {base}" if r.random() < 0.5 else base
        description = " ".join(self._sentence() for _ in range(r.randint(2, 4)))
        description += f" Located on {self.proper_name()} Street near {self.proper_name()} Park."
        languages = {"en"} | ({"es"} if r.random() < 0.4 else set())
        if r.random() < 0.1:
            languages.add(r.choice(("vi", "ar", "so", "zh")))
        points = tuple(
            (RIVERBEND[0] + r.uniform(-0.3, 0.3), RIVERBEND[1] + r.uniform(-0.3, 0.3))
            for _ in range(r.choice((1, 1, 1, 2)))
        )
        days = ",".join(r.sample(DAYS, k=r.randint(1, 5)))
        opens = r.choice(("08:00", "09:00", "10:00", "13:00"))
        closes = r.choice(("12:00", "16:00", "17:00", "19:00"))
        return Document(
            id=f"svc-gen-{number}",
            kind="service",
            title=title,
            name=title,
            tags=" ".join([organization, *(self.term_name.get(c, "") for c in concepts)]),
            body=description,
            concepts=frozenset(concepts),
            languages=frozenset(languages),
            points=points,
            hours=tuple(weekly_intervals([("WEEKLY", days, opens, closes)])),
        )

    def documents(self, count: int) -> list[Document]:
        return [self.document(number) for number in range(count)]


def benchmark_queries(seed: int = 7) -> list[str]:
    """The relevance set's queries, and 40 of them again with a typo: a fixed list."""
    r = random.Random(seed)
    texts = [q.query for q in load_queries()]
    typos = []
    for text in r.sample(texts, 40):
        words = text.split()
        long = [i for i, w in enumerate(words) if len(w) > 4]
        if not long:
            continue
        i = r.choice(long)
        word, j = words[i], r.randrange(1, len(words[i]) - 1)
        dropped = word[:j] + word[j + 1 :]
        swapped = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        words[i] = r.choice((dropped, swapped))
        typos.append(" ".join(words))
    return texts + typos


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak so far (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- one size (run in a child process) ---------------------------------------------------------


def measure_size(count: int) -> dict[str, float]:
    rss_start = rss_mb()
    documents = DirectoryGenerator(seed=count).documents(count)
    # The US towns and ZIP codes load once per process (about 2 s), like the lexicon: not timed.
    index = SearchIndex(documents, load_lexicon(), ZONE, us_gazetteer())
    # The bot keeps the index and lets go of the documents it was built from; so does this.
    del documents
    gc.collect()
    rss_index, rss_peak = rss_mb(), rss_mb("VmHWM")

    started = time.perf_counter()
    index.offered_concepts()  # the bot works these out after each build, in a thread
    browse_s = time.perf_counter() - started
    queries = benchmark_queries()
    for text in queries[:20]:  # warm-up: the first calls pay for lazy imports
        index.search(SearchQuery(text=text))
    elapsed: list[float] = []
    for number, text in enumerate(queries):
        query = SearchQuery(
            text=text,
            # every 10th query near a point, every 15th open now
            near=RIVERBEND if number % 10 == 3 else None,
            open_now=number % 15 == 7,
        )
        started = time.perf_counter()
        index.search(query)
        elapsed.append((time.perf_counter() - started) * 1000)

    # The same documents again (same seed): the texts the naive baseline goes through.
    texts = [f"{d.name} {d.tags} {d.body}" for d in DirectoryGenerator(seed=count).documents(count)]
    sample = random.Random(count).sample(queries, BASELINE_SAMPLE.get(count, 20))
    naive: list[float] = []
    ours: list[float] = []
    for text in sample:
        started = time.perf_counter()
        process.extract(text, texts, scorer=fuzz.WRatio, limit=5)
        naive.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        index.search(SearchQuery(text=text))
        ours.append((time.perf_counter() - started) * 1000)
    return {
        "services": count,
        "vocabulary": len(index.vocabulary),
        "build_s": index.build_seconds,
        "browse_s": browse_s,
        "rss_mb": rss_index,
        "rss_peak_mb": rss_peak,
        "rss_start_mb": rss_start,
        "queries": len(elapsed),
        "p50_ms": percentile(elapsed, 0.5),
        "p99_ms": percentile(elapsed, 0.99),
        "max_ms": max(elapsed),
        "baseline_queries": len(sample),
        "baseline_mean_ms": statistics.fmean(naive),
        "ours_mean_ms": statistics.fmean(ours),
        "ratio": statistics.fmean(naive) / statistics.fmean(ours),
    }


# --- building from a database (run in a child process) -----------------------------------------


def _rows(documents: list[Document]) -> dict[str, list[dict[str, Any]]]:
    """HSDS rows for generated documents, by table."""
    codes = sorted({c for d in documents for c in d.concepts})
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows["taxonomy_term"] = [{"id": f"t-{c}", "code": c, "name": c} for c in codes]
    for d in documents:
        organization = " ".join(d.tags.split()[:2])
        rows["organization"].append({"id": f"org-{d.id}", "name": organization})
        rows["service"].append(
            {"id": d.id, "organization_id": f"org-{d.id}", "name": d.name, "description": d.body}
        )
        for c in sorted(d.concepts):
            rows["attribute"].append(
                {"id": f"a-{d.id}-{c}", "link_id": d.id, "taxonomy_term_id": f"t-{c}",
                 "link_entity": "service", "link_type": "category"}
            )  # fmt: skip
        for number, (latitude, longitude) in enumerate(d.points):
            location = f"loc-{d.id}-{number}"
            rows["location"].append(
                {"id": location, "organization_id": f"org-{d.id}",
                 "latitude": latitude, "longitude": longitude}
            )  # fmt: skip
            rows["service_at_location"].append(
                {"id": f"sal-{d.id}-{number}", "service_id": d.id, "location_id": location}
            )
        for code in sorted(d.languages):
            rows["language"].append({"id": f"l-{d.id}-{code}", "service_id": d.id, "code": code})
        for number, interval in enumerate(d.hours):
            rows["schedule"].append(
                {"id": f"s-{d.id}-{number}", "service_id": d.id, "freq": "WEEKLY",
                 "byday": DAYS[interval.weekday], "opens_at": f"{interval.opens // 60:02d}:00",
                 "closes_at": f"{interval.closes // 60:02d}:00"}
            )  # fmt: skip
    return rows


async def measure_database(count: int) -> dict[str, float]:
    from sqlalchemy import insert

    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.migrate import upgrade_database_async
    from knowledge.models import Base
    from knowledge.search import build_index

    rows = _rows(DirectoryGenerator(seed=count + 1).documents(count))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        await upgrade_database_async(url)
        engine = create_engine(url)
        started = time.perf_counter()
        async with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:  # parents before children
                if rows.get(table.name):
                    await connection.execute(insert(table), rows[table.name])
        written = time.perf_counter() - started
        started = time.perf_counter()
        async with create_sessionmaker(engine)() as session:
            index = await build_index(session, load_lexicon(), ZONE)
        total = time.perf_counter() - started
        await engine.dispose()
    return {
        "services": len(index.ids),
        "write_s": written,
        "load_and_build_s": total,
        "build_s": index.build_seconds,
        "load_s": total - index.build_seconds,
    }


# --- relevance against the built-in content -----------------------------------------------------


async def measure_relevance() -> tuple[str, list[str]]:
    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.search import build_index
    from knowledge.setup import prepare_database

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/relevance.db"
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        await prepare_database(url, sessions)
        async with sessions() as session:
            index = await build_index(session, load_lexicon(), ZONE)
        await engine.dispose()

    def search(text: str, language: str | None) -> list[str]:
        return [h.id for h in index.search(SearchQuery(text=text, language=language)).hits]

    report = evaluate(search)
    return report.summary(), [f"miss: {m}" for m in report.misses] + [
        f"not first: {w}" for w in report.weak
    ]


# --- the report ------------------------------------------------------------------------------


def _child(argument: str, value: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.search_bench", argument, str(value)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _load_average() -> str:
    with open("/proc/loadavg", encoding="ascii") as handle:
        return " ".join(handle.read().split()[:3]) + f" on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_bench")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="e.g. 1000,10000")
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)  # one size, in a child
    parser.add_argument("--database", type=int, help=argparse.SUPPRESS)  # ditto, from SQLite
    args = parser.parse_args(argv)
    if args.size:
        print(json.dumps(measure_size(args.size)))
        return 0
    if args.database:
        print(json.dumps(asyncio.run(measure_database(args.database))))
        return 0

    summary, misses = asyncio.run(measure_relevance())
    print(summary)
    for line in misses:
        print(f"  {line}")
    datasets = find_datasets()
    if datasets is None:
        print("real directories: ../shared/datasets is not here, not measured")
    else:  # aggregate figures only: the holdout set's queries are not for reading
        for report in asyncio.run(measure_real(datasets)):
            print(report.summary())

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"\nsearch speed: {len(benchmark_queries())} queries a size "
          "(every 10th near a point, every 15th open now)")  # fmt: skip
    print(
        f"{'services':>9} {'vocab':>8} {'build s':>8} {'browse s':>9} {'RSS MB':>7} {'peak MB':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'naive ms':>9} {'faster':>7}"
    )
    started_with = ""
    for size in sizes:
        r = _child("--size", size)
        started_with = f"{r['rss_start_mb']:.0f}"
        print(
            f"{r['services']:>9,} {r['vocabulary']:>8,} {r['build_s']:>8.2f} {r['browse_s']:>9.2f} "
            f"{r['rss_mb']:>7.0f} "
            f"{r['rss_peak_mb']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
            f"{r['max_ms']:>7.2f} {r['baseline_mean_ms']:>9.1f} {r['ratio']:>6.0f}x"
        )
    samples = " / ".join(str(BASELINE_SAMPLE.get(s, 20)) for s in sizes)
    print(
        "  browse: working out which needs get a category button (once per build, in a thread)\n"
        "  RSS: the whole process once the index is built and the documents it was built from\n"
        f"  are let go, as in the bot (Python with numpy, rapidfuzz, SQLAlchemy: {started_with} MB"
        " on its own);\n"
        "  peak: the most it held, during the build, documents and index together\n"
        "  naive: mean ms of rapidfuzz.process.extract(query, texts, scorer=fuzz.WRatio, limit=5)"
        f"\n  over the same texts, on {samples} of the queries; faster: its mean over ours there\n"
        f"  {TARGETS}\n"
        f"  load average when done: {_load_average()} (timings are wall clock)"
    )

    database = _child("--database", DATABASE_SIZE)
    print(
        f"\nfrom SQLite, {database['services']:,} services: loading {database['load_s']:.2f} s"
        f" + building {database['build_s']:.2f} s = {database['load_and_build_s']:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
