"""`eisfit.runs.safe_json`: JSON read with a size and a depth limit, one exception type."""

from __future__ import annotations

import contextlib
import json
import os
import random
import tracemalloc
from pathlib import Path

import pytest

from eisfit.errors import EisfitError, JsonError
from eisfit.runs.safe_json import MAX_DEPTH, json_depth, load_json, loads_json

# strings that look like structure: brackets, escaped quotes, backslash runs, non-ASCII
_TRICKY = ["[", "]", "{", "}", '"', "\\", '\\"', '"[', '\\\\"[', "µ[{", "\n", "", 'a"]}']


def _nested(rng: random.Random, depth: int) -> object:
    """A random JSON value whose deepest nesting is exactly ``depth``."""
    if depth == 0:
        return rng.choice([rng.choice(_TRICKY) * rng.randrange(3), 1.5, -2, None, True])
    children = [_nested(rng, rng.randrange(depth)) for _ in range(rng.randrange(3))]
    children.insert(rng.randrange(len(children) + 1), _nested(rng, depth - 1))
    if rng.random() < 0.5:
        return children
    return {f"{rng.choice(_TRICKY)}{i}": child for i, child in enumerate(children)}


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_the_depth_scan_agrees_with_the_parsed_value() -> None:
    rng = random.Random(21)
    for _ in range(300):
        value = _nested(rng, rng.randrange(12))
        for ascii_only in (True, False):
            text = json.dumps(value, ensure_ascii=ascii_only, indent=rng.choice([None, 1]))
            assert json_depth(text.encode()) == _depth(value), text
            assert loads_json(text) == value


def test_the_depth_limit_is_inclusive() -> None:
    assert loads_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JsonError, match="deeper than 64"):
        loads_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads_json('{"a": "' + "[" * 1000 + '"}', max_depth=1) == {"a": "[" * 1000}


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError in json.loads
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,  # unbalanced
        '{"R": NaN}', "[Infinity]", "[-Infinity]",  # eisfit writes none of these
        "", "{", '{"a": 1,}', "[1] [2]", "\ud800", '"\\ud800', "9" * 5000,  # > int digits limit
    ],
)  # fmt: skip
def test_bad_text_raises_only_json_error(text: str) -> None:
    with pytest.raises(JsonError) as info:
        loads_json(text)
    assert isinstance(info.value, EisfitError) and isinstance(info.value, ValueError)


def test_nan_is_accepted_only_when_asked() -> None:
    assert loads_json("[NaN]", allow_nan=True)[0] != 0


def test_random_damage_raises_only_json_error(tmp_path: Path) -> None:
    rng = random.Random(22)
    text = json.dumps(_nested(rng, 8)).encode()
    for _ in range(2000):
        damaged = bytearray(text)
        for _ in range(rng.randrange(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(JsonError):
            loads_json(bytes(damaged))


def test_a_file_above_the_limit_is_refused_from_stat(tmp_path: Path) -> None:
    file = tmp_path / "big.json"
    with file.open("wb") as handle:
        handle.truncate(2 << 30)  # sparse: 2 GB of nothing
    tracemalloc.start()
    try:
        with pytest.raises(JsonError, match="more than the limit"):
            load_json(file, max_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_files_that_are_not_json_raise_only_json_error(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2.5, "µ"]}', encoding="utf-8")
    assert load_json(good, max_bytes=100) == {"a": [1, 2.5, "µ"]}
    with pytest.raises(JsonError, match="limit of 10"):
        load_json(good, max_bytes=10)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"a": "µ"}'.encode("latin-1"))
    with pytest.raises(JsonError, match="UTF-8"):
        load_json(latin, max_bytes=100)
    with pytest.raises(JsonError, match="cannot be read"):
        load_json(tmp_path / "missing.json", max_bytes=100)
    with pytest.raises(JsonError, match=r"directory|not a regular file"):
        load_json(tmp_path, max_bytes=100)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(JsonError, match="not a regular file"):
        load_json(fifo, max_bytes=100)  # opened for reading, a FIFO would block here
