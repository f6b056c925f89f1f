"""Search benchmark: `python -m benchmarks.search_bench` (what `make bench` runs).

Prints, for generated directories of 1k, 10k and 100k services:
- index build time and resident memory (RSS) once built,
- p50 / p99 milliseconds per query over a fixed list of queries (the relevance set plus typos),
- a naive baseline over the same texts, rapidfuzz.process.extract(query, texts,
  scorer=fuzz.WRatio, limit=5), timed in the same run on a sample of the queries, and the ratio;
then the time to build the index from a 10k-service SQLite database, and the relevance set's
top-1 / top-3 against the built-in content.

Each directory size runs in a child process so its RSS is its own. A figure, not a test: nothing
here fails when a target is missed; the targets are printed next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from knowledge.content import DEMO_DIRECTORY
from knowledge.hours import weekly_intervals
from knowledge.lexicon import load_lexicon
from knowledge.search import Document, SearchIndex, SearchQuery

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.relevance: the labelled queries live with the tests

from tests.relevance import evaluate, load_queries  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
ZONE = ZoneInfo("America/Chicago")
RIVERBEND = (41.60, -93.61)
# How many queries the naive baseline gets at each size: it needs ~2 s a query at 100k.
BASELINE_SAMPLE = {1_000: 200, 10_000: 60, 100_000: 20}
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
)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --- a realistic directory -------------------------------------------------------------------


def _read_csv(name: str) -> list[dict[str, str]]:
    with (DEMO_DIRECTORY / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class DirectoryGenerator:
    """Services that read like the demo town's, at any size.

    Names and descriptions reuse the demo directory's sentences and the lexicon's service-side
    words, with random proper names (places, organizations, streets) mixed in, so the vocabulary
    keeps growing with the directory the way a real one does.
    """

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        lexicon = load_lexicon()
        self.concepts = [c.id for c in lexicon.concepts]
        self.terms = {c.id: c.terms for c in lexicon.concepts}
        term_names = {row["id"]: row["name"] for row in _read_csv("taxonomy_terms.csv")}
        self.term_name = {row["code"]: row["name"] for row in _read_csv("taxonomy_terms.csv")}
        tagged: dict[str, list[str]] = defaultdict(list)
        for row in _read_csv("attributes.csv"):
            tagged[row["link_id"]].append(term_names[row["taxonomy_term_id"]])
        self.names_by_concept: dict[str, list[str]] = defaultdict(list)
        self.sentences: list[str] = []
        code_of = {row["name"]: row["code"] for row in _read_csv("taxonomy_terms.csv")}
        for row in _read_csv("services.csv"):
            for term in tagged.get(row["id"], []):
                self.names_by_concept[code_of[term]].append(row["name"])
            for text in (row["description"], row["eligibility_description"]):
                self.sentences += [s.strip() for s in text.split(". ") if len(s.split()) > 3]
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
        place = f"{self.proper_name()} {r.choice(KINDS_OF_PLACE)}"
        base = (
            r.choice(self.names_by_concept[main])
            if self.names_by_concept[main] and r.random() < 0.7
            else " ".join(r.sample(self.terms[main], k=min(2, len(self.terms[main])))).title()
        )
        title = f"{self.proper_name()} {base}" if r.random() < 0.5 else base
        description = " ".join(self._sentence() for _ in range(r.randint(2, 4)))
        description += f" Located on {self.proper_name()} Street near {self.proper_name()} Park."
        languages = {"en"} | ({"es"} if r.random() < 0.4 else set()) | (
            {r.choice(("vi", "ar", "so", "zh"))} if r.random() < 0.1 else set()
        )
        points = tuple(
            (RIVERBEND[0] + r.uniform(-0.3, 0.3), RIVERBEND[1] + r.uniform(-0.3, 0.3))
            for _ in range(r.choice((1, 1, 1, 2)))
        )
        opens = r.choice(("08:00", "09:00", "10:00", "13:00"))
        closes = r.choice(("12:00", "16:00", "17:00", "19:00"))
        days = ",".join(r.sample(DAYS, k=r.randint(1, 5)))
        hours = tuple(weekly_intervals([("WEEKLY", days, opens, closes)]))
        return Document(
            id=f"svc-gen-{number}",
            kind="service",
            title=title,
            name=title,
            tags=" ".join([place, *(self.term_name.get(c, "") for c in concepts)]),
            body=description,
            concepts=frozenset(concepts),
            languages=frozenset(languages),
            points=points,
            hours=hours,
        )

    def documents(self, count: int) -> list[Document]:
        return [self.document(number) for number in range(count)]


def benchmark_queries(seed: int = 7) -> list[str]:
    """The relevance set's queries plus typo'd versions of some: a fixed list of ~250."""
    r = random.Random(seed)
    texts = [q.query for q in load_queries()]
    typos = []
    for text in r.sample(texts, 40):
        words = text.split()
        long = [i for i, w in enumerate(words) if len(w) > 4]
        if not long:
            continue
        i = r.choice(long)
        word = words[i]
        j = r.randrange(1, len(word) - 1)
        words[i] = r.choice((word[:j] + word[j + 1 :], word[:j] + word[j + 1] + word[j] + word[j + 2 :]))
        typos.append(" ".join(words))
    return texts + typos


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- one size, in its own process ------------------------------------------------------------


def measure_size(count: int) -> dict[str, float]:
    rss_start = rss_mb()
    documents = DirectoryGenerator(seed=count).documents(count)
    rss_documents = rss_mb()
    index = SearchIndex(documents, load_lexicon(), ZONE)
    rss_index = rss_mb()
    queries = benchmark_queries()
    now = None
    for text in queries[:20]:  # warm-up: first calls pay for lazy imports and caches
        index.search(SearchQuery(text=text))
    elapsed: list[float] = []
    for round_number in range(2):
        for number, text in enumerate(queries):
            query = SearchQuery(
                text=text,
                # every 10th query filters by distance, every 15th by opening hours
                near=RIVERBEND if number % 10 == 3 else None,
                open_now=number % 15 == 7,
            )
            started = time.perf_counter()
            index.search(query, now)
            if round_number:
                elapsed.append((time.perf_counter() - started) * 1000)

    texts = [f"{d.name} {d.tags} {d.body}" for d in documents]
    sample = random.Random(count).sample(queries, min(BASELINE_SAMPLE[count], len(queries)))
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
        "rss_mb": rss_index,
        "rss_index_mb": rss_index - rss_documents,
        "rss_documents_mb": rss_documents - rss_start,
        "queries": len(elapsed),
        "p50_ms": percentile(elapsed, 0.5),
        "p99_ms": percentile(elapsed, 0.99),
        "max_ms": max(elapsed),
        "baseline_queries": len(sample),
        "baseline_mean_ms": statistics.fmean(naive),
        "ours_mean_ms": statistics.fmean(ours),
        "ratio": statistics.fmean(naive) / statistics.fmean(ours),
    }


# --- loading from a database -----------------------------------------------------------------


async def _write_directory(url: str, documents: list[Document]) -> None:
    from sqlalchemy import insert

    from knowledge.db import create_engine
    from knowledge.migrate import upgrade_database_async
    from knowledge.models import (
        Attribute,
        Language,
        Location,
        Organization,
        Schedule,
        Service,
        ServiceAtLocation,
        TaxonomyTerm,
    )

    await upgrade_database_async(url)
    engine = create_engine(url)
    codes = sorted({c for d in documents for c in d.concepts})
    async with engine.begin() as connection:
        await connection.execute(
            insert(TaxonomyTerm), [{"id": f"t-{c}", "code": c, "name": c} for c in codes]
        )
        await connection.execute(
            insert(Organization),
            [{"id": f"org-{d.id}", "name": d.tags.split(" ")[0]} for d in documents],
        )
        await connection.execute(
            insert(Service),
            [
                {
                    "id": d.id,
                    "organization_id": f"org-{d.id}",
                    "name": d.name,
                    "description": d.body,
                    "status": "active",
                }
                for d in documents
            ],
        )
        await connection.execute(
            insert(Attribute),
            [
                {"id": f"a-{d.id}-{c}", "link_id": d.id, "taxonomy_term_id": f"t-{c}",
                 "link_entity": "service", "link_type": "category"}
                for d in documents
                for c in d.concepts
            ],
        )
        await connection.execute(
            insert(Location),
            [
                {"id": f"loc-{d.id}", "organization_id": f"org-{d.id}",
                 "latitude": d.points[0][0], "longitude": d.points[0][1]}
                for d in documents
            ],
        )
        await connection.execute(
            insert(ServiceAtLocation),
            [{"id": f"sal-{d.id}", "service_id": d.id, "location_id": f"loc-{d.id}"} for d in documents],
        )
        await connection.execute(
            insert(Language),
            [
                {"id": f"l-{d.id}-{code}", "service_id": d.id, "code": code}
                for d in documents
                for code in sorted(d.languages)
            ],
        )
        await connection.execute(
            insert(Schedule),
            [
                {"id": f"s-{d.id}-{i}", "service_id": d.id, "freq": "WEEKLY",
                 "byday": DAYS[interval.weekday], "opens_at": f"{interval.opens // 60:02d}:00",
                 "closes_at": f"{min(interval.closes, 1439) // 60:02d}:00"}
                for d in documents
                for i, interval in enumerate(d.hours)
            ],
        )
    await engine.dispose()


async def measure_database(count: int) -> dict[str, float]:
    from knowledge.db import create_engine, create_sessionmaker
    from knowledge.search import build_index

    documents = DirectoryGenerator(seed=count + 1).documents(count)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        await _write_directory(url, documents)
        written = time.perf_counter() - started
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        started = time.perf_counter()
        async with sessions() as session:
            index = await build_index(session, load_lexicon(), ZONE)
        total = time.perf_counter() - started
        await engine.dispose()
    return {
        "services": count,
        "write_s": written,
        "load_and_build_s": total,
        "build_s": index.build_seconds,
        "load_s": total - index.build_seconds,
    }


# --- relevance against the built-in content ---------------------------------------------------


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
    return report.summary(), report.misses


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_bench")
    parser.add_argument("--size", type=int, help="measure one directory size (child process)")
    parser.add_argument("--database", type=int, help="measure loading from SQLite (child)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
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
        print(f"  miss: {line}")
    print()
    print(f"{len(benchmark_queries())} queries per size; every 10th near a point, every 15th open now")
    print(
        f"{'services':>9} {'vocab':>8} {'build s':>8} {'RSS MB':>7} {'index MB':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'naive ms':>9} {'ratio':>7}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        r = _child("--size", size)
        print(
            f"{r['services']:>9,} {r['vocabulary']:>8,} {r['build_s']:>8.2f} {r['rss_mb']:>7.0f} "
            f"{r['rss_index_mb']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['max_ms']:>7.2f} "
            f"{r['baseline_mean_ms']:>9.1f} {r['ratio']:>6.0f}x"
        )
    print(
        "  naive = mean ms of rapidfuzz.process.extract(query, texts, scorer=fuzz.WRatio, limit=5) "
        "on a sample of the queries (200 / 60 / 20); ratio = its mean over ours on that sample"
    )
    print(f"  {TARGETS}")
    database = _child("--database", 10_000)
    print(
        f"\nfrom SQLite, {database['services']:,} services: load {database['load_s']:.2f} s + "
        f"build {database['build_s']:.2f} s = {database['load_and_build_s']:.2f} s "
        f"(writing the database took {database['write_s']:.1f} s, not counted)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
