"""Asset map benchmark: `python -m benchmarks.assets_bench`. It prints figures; it asserts nothing.

For generated directories (search_bench's generator) of 10k and 100k services: the time to
build the asset map from a built index (a search per need; distances from each school to the
nearest service), and to draw its chart and map picture. `/stats` runs the map in a
thread, so this is how long a coordinator waits, not how long families do.
`--sizes 10000` measures fewer sizes.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.search_bench import RIVERBEND, ZONE, DirectoryGenerator
from knowledge.assets import SchoolPoint, assets_chart, assets_map_picture, build_asset_map
from knowledge.lexicon import load_lexicon
from knowledge.search import SearchIndex

SIZES = (10_000, 100_000)
SCHOOLS = 5


def measure(count: int) -> dict[str, float]:
    lexicon = load_lexicon()
    documents = DirectoryGenerator(seed=count).documents(count)
    index = SearchIndex(documents, lexicon, ZONE)
    schools = [
        SchoolPoint(f"school-{n}", f"School {n}", RIVERBEND[0] + n * 0.01, RIVERBEND[1] - n * 0.01)
        for n in range(SCHOOLS)
    ]
    searches = {c.id: (n * 7) % 23 for n, c in enumerate(lexicon.concepts)}
    started = time.perf_counter()
    needs = build_asset_map(lexicon, index, documents, schools, searches, {})
    mapped = time.perf_counter() - started
    assets_chart(needs[:1], "warm-up", "asked", "services")  # matplotlib's imports and fonts
    started = time.perf_counter()
    assets_chart(needs, "chart", "asked", "services")
    assets_map_picture(needs, documents, schools, "map", "school")
    drawn = time.perf_counter() - started
    return {
        "services": count,
        "needs": len(needs),
        "searches": len(lexicon.concepts),
        "map_s": mapped,
        "pictures_s": drawn,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    args = parser.parse_args(argv)
    print(f"{'services':>9} {'needs':>6} {'searches':>9} {'map s':>7} {'pictures s':>11}")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size)
        print(
            f"{row['services']:>9,} {row['needs']:>6} {row['searches']:>9}"
            f" {row['map_s']:>7.2f} {row['pictures_s']:>11.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
