"""``python -m benchmarks`` (``make bench``): every benchmark, one after another, in one run.

kstatus needs no cluster; the watchlist and polling benchmarks start (or reuse) the local control plane; the
scale benchmark (small size) runs last with its own control plane directory, its peers side by side.
"""

from __future__ import annotations

import sys

from benchmarks import bench_kstatus, bench_polling, bench_watchlist, scale


def main() -> int:
    program = sys.argv[0]
    print("=== kstatus: status computation vs decoding ===")
    bench_kstatus.main([])
    print("\n=== watchlist: initial sync and memory per cached object ===")
    bench_watchlist.run([])
    print("\n=== polling: API requests and events per cycle, shared view vs direct GETs ===")
    sys.argv = [program]  # bench_polling reads its options from the command line
    bench_polling.main()
    print("\n=== scale: the operator and its peers on one scenario (small) ===")
    return scale.main(["--size", "small"])


if __name__ == "__main__":
    sys.exit(main())
