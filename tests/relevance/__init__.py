"""The labelled relevance set (queries.yaml) and how it is scored.

Shared by tests/test_search.py (which asserts the rates) and benchmarks/search_bench.py (which
prints them), so both measure the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

QUERIES_FILE = Path(__file__).with_name("queries.yaml")


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    query: str
    expect: frozenset[str]  # ids that count as a right answer; empty: must return nothing
    lang: str | None = None


@dataclass(slots=True)
class RelevanceReport:
    total: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[str] = field(default_factory=list)  # one readable line per top-3 miss
    weak: list[str] = field(default_factory=list)  # right in the top 3 but not first

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.total if self.total else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.total if self.total else 0.0

    def summary(self) -> str:
        return (
            f"relevance: {self.total} queries, top-1 {self.top1_rate:.1%} ({self.top1}), "
            f"top-3 {self.top3_rate:.1%} ({self.top3})"
        )


def load_queries(path: Path = QUERIES_FILE) -> list[LabelledQuery]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(str(row["query"]), frozenset(row["expect"]), row.get("lang")) for row in rows
    ]


def evaluate(
    search: Callable[[str, str | None], list[str]], queries: list[LabelledQuery] | None = None
) -> RelevanceReport:
    """Score `search(text, lang) -> result ids, best first` on the labelled queries.

    A query with an empty `expect` counts as right (top-1 and top-3) only if nothing comes back.
    """
    report = RelevanceReport()
    for item in queries if queries is not None else load_queries():
        ids = search(item.query, item.lang)
        report.total += 1
        if not item.expect:
            if ids:
                report.misses.append(f"{item.query!r}: expected nothing, got {ids[:3]}")
            else:
                report.top1 += 1
                report.top3 += 1
            continue
        if ids[:1] and ids[0] in item.expect:
            report.top1 += 1
        if item.expect.intersection(ids[:3]):
            report.top3 += 1
            if ids[0] not in item.expect:
                report.weak.append(
                    f"{item.query!r}: first was {ids[0]}, expected {sorted(item.expect)}"
                )
        else:
            report.misses.append(f"{item.query!r}: expected {sorted(item.expect)}, got {ids[:3]}")
    return report
