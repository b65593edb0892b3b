"""Benchmark: what the depth and size checks of `eisfit.runs.safe_json` cost over `json.loads`.

Documents of about ``--mb`` MB shaped like eisfit's own files: a ``rows.json``-like index
(many flat objects of numbers and strings), a ``fits/``-like record of one long spectrum
(three long arrays of floats), and strings full of brackets and escaped quotes (the worst
case for the string-stripping regex).  Also a hostile document nested 100,000 deep, which
`json.loads` refuses with RecursionError and `loads_json` refuses from the bracket scan.

Measured (time.perf_counter, best of ``--repeat``): `json.loads` of the text, `json_depth`
of the bytes, `load_json` of the file (read + depth + decode).

Usage:  python bench/safe_json_bench.py [--mb 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from eisfit.errors import JsonError
from eisfit.runs.safe_json import json_depth, load_json, loads_json


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _documents(mb: float, rng: random.Random) -> dict[str, str]:
    size = int(mb * 1e6)
    row = {f"col{i}": rng.random() for i in range(40)} | {"source": "x/y.mpt", "status": "ok"}
    n_rows = max(1, size // len(json.dumps(row)))
    rows = {"version": [2, "0.1.0"], "rows": {f"s{i}": [f"{i:064x}", 1, 2, row, "c"]
                                              for i in range(n_rows)}}  # fmt: skip
    n_points = max(1, size // 60)
    record = {"spectrum": {k: [rng.random() for _ in range(n_points)] for k in "frz"}}
    n_strings = max(1, size // 40)
    strings = ['[{\\"]}' * 5 + str(i) for i in range(n_strings)]
    return {
        "rows-like": json.dumps(rows),
        "record-like": json.dumps(record),
        "bracket strings": json.dumps(strings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(13)
    print(f"{'document':<16} {'MB':>6} {'json.loads s':>13} {'json_depth s':>13} "
          f"{'load_json s':>12} {'depth share':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for name, text in _documents(args.mb, rng).items():
            path = Path(folder) / "doc.json"
            path.write_text(text)
            data = text.encode()
            plain = _best(lambda text=text: json.loads(text), args.repeat)
            depth = _best(lambda data=data: json_depth(data), args.repeat)
            safe = _best(lambda path=path: load_json(path, max_bytes=1 << 30), args.repeat)
            print(f"{name:<16} {len(data) / 1e6:6.1f} {plain:13.3f} {depth:13.3f} "
                  f"{safe:12.3f} {depth / plain:11.0%}")  # fmt: skip
    deep = "[" * 100_000 + "]" * 100_000
    try:
        json.loads(deep)
        plain_outcome = "decoded"
    except RecursionError:
        plain_outcome = "RecursionError"
    try:
        loads_json(deep)
        safe_outcome = "decoded"
    except JsonError as exc:
        safe_outcome = f"JsonError: {exc.reason}"
    seconds = _best(lambda: json_depth(deep.encode(), limit=64), args.repeat)
    print(f"nested 100,000 deep: json.loads -> {plain_outcome}; loads_json -> {safe_outcome} "
          f"({seconds * 1e3:.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
