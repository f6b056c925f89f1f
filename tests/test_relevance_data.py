"""The real-directory relevance sets keep their shape (issue 11, item 6).

Only the files are checked here; how the search scores on them is measured elsewhere.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

RELEVANCE = Path(__file__).with_name("relevance")
MINIMUM_QUERIES = {
    "real_directories.yaml": 170,
    "real_directories_dev7.yaml": 200,
    "real_directories_dev8.yaml": 200,
    "real_directories_dev9.yaml": 200,
    "real_directories_dev10.yaml": 200,
    "real_directories_dev11.yaml": 200,
    "real_directories_dev12.yaml": 200,
    "real_directories_dev13.yaml": 200,
    "real_directories_dev14.yaml": 200,
    "real_directories_dev15.yaml": 200,
    "real_directories_dev16.yaml": 200,
    "real_directories_dev17.yaml": 200,
    "real_directories_dev18.yaml": 200,
    "real_directories_dev19.yaml": 200,
    "real_directories_dev20.yaml": 200,
    "real_directories_dev21.yaml": 200,
    "real_directories_dev22.yaml": 200,
    "real_directories_dev23.yaml": 200,
    "real_directories_holdout.yaml": 60,
}
DATASETS = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parents[2] / "shared" / "datasets",
            Path("/work/shared/datasets"),
        )
        if folder.is_dir()
    ),
    None,
)


def labelled(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load((RELEVANCE / name).read_text(encoding="utf-8"))
    return rows


@pytest.mark.parametrize("name", MINIMUM_QUERIES)
def test_set_keeps_its_mix(name: str) -> None:
    rows = labelled(name)
    queries = [row["query"].casefold() for row in rows]
    assert len(rows) >= MINIMUM_QUERIES[name]
    assert len(set(queries)) == len(queries), "a query appears twice"
    assert sum(row.get("lang") == "es" for row in rows) >= len(rows) / 4
    assert sum(not row["expect"] for row in rows) >= 20
    assert all(isinstance(id_, str) for row in rows for id_ in row["expect"])


@pytest.mark.skipif(DATASETS is None, reason="no shared datasets here")
@pytest.mark.parametrize("name", MINIMUM_QUERIES)
def test_every_expected_id_is_a_service_of_the_datasets(name: str) -> None:
    assert DATASETS is not None
    service_ids: set[str] = set()
    for services in DATASETS.glob("*/services.csv"):
        with services.open(encoding="utf-8", newline="") as rows:
            service_ids.update(row["id"] for row in csv.DictReader(rows) if row["id"])
    expected = {id_ for row in labelled(name) for id_ in row["expect"]}
    assert expected - service_ids == set()
