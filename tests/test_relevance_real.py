"""The search on real directories (issue 11): the shared datasets imported without the demo,
the dev set asked as families ask. Skipped where ../shared/datasets is absent (a fresh machine).

The floors are the levels reached; raise them as the search improves, never lower them to pass.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from relevance.real import (
    DEV_FILE,
    build_real_index,
    evaluate_real,
    find_datasets,
    load_real_queries,
)

DATASETS = find_datasets()
TOP1_FLOOR = 0.79
TOP3_FLOOR = 0.90
SILENT_FLOOR = 0.72  # of the questions nothing in the directories answers
CONFIDENT_WRONG_CEILING = 0.19


@pytest.mark.skipif(DATASETS is None, reason="no shared datasets here")
def test_real_dev_set_keeps_its_level(tmp_path: Path) -> None:
    assert DATASETS is not None
    index = asyncio.run(build_real_index(DATASETS, tmp_path))
    report = evaluate_real(index, "real dev", load_real_queries(DEV_FILE))
    print(report.summary())
    assert report.rate(report.top1) >= TOP1_FLOOR, report.misses
    assert report.rate(report.top3) >= TOP3_FLOOR, report.misses
    assert report.rate(report.silent, report.unanswerable) >= SILENT_FLOOR, report.misses
    assert report.rate(report.confident_wrong) <= CONFIDENT_WRONG_CEILING, report.misses
