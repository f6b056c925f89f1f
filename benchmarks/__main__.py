"""`make bench`: every benchmark, one after another. Figures are printed, nothing is asserted.

Set BENCH_DATABASE_URL to a PostgreSQL URL to measure there too where a benchmark supports it.
"""

from __future__ import annotations

import sys

from benchmarks import (
    assets_bench,
    broadcast_bench,
    first_reply_bench,
    import_bench,
    load_bench,
    search_bench,
    sending_bench,
    sms_broadcast_bench,
)


def main() -> int:
    for title, run in (
        ("Search: relevance, speed at 1k/10k/100k services", search_bench.main),
        ("Import", import_bench.main),
        ("First reply through the whole stack", first_reply_bench.main),
        ("Load through the whole stack", load_bench.main),
        ("Broadcast to 10,000 subscribers", broadcast_bench.main),
        ("SMS broadcast to 2,000 numbers", sms_broadcast_bench.main),
        ("Asset map at 10k/100k services", assets_bench.main),
        ("Sending: flash crowd, one chat's flood wait, an API outage", sending_bench.main),
    ):
        print(f"\n== {title}", flush=True)
        run()  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main())
