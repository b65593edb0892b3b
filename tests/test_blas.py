"""BLAS threads: one per DRT call, a share of the cores per batch worker (`eisfit._blas`)."""

from __future__ import annotations

import os

import pytest

from eisfit._blas import limit_threads, one_thread, thread_counts
from eisfit.runs.pools import worker_pool

pytestmark = pytest.mark.skipif(
    not thread_counts(), reason="numpy/scipy here do not bundle OpenBLAS: nothing to limit"
)


def test_one_thread_is_local_and_restored() -> None:
    before = thread_counts()
    with one_thread():
        pass
    assert thread_counts() == before


def test_a_worker_uses_its_share_of_the_cores() -> None:
    workers = 2
    share = max((os.cpu_count() or 1) // workers, 1)
    with worker_pool(workers) as pool:
        counts = pool.submit(thread_counts).result()
    assert counts and set(counts) == {share}


def test_limit_threads_sets_every_bundled_openblas() -> None:
    before = thread_counts()
    try:
        limit_threads(1)
        assert set(thread_counts()) == {1}
    finally:
        for n in set(before):
            limit_threads(n)
