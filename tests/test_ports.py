"""Port leases (jobslab.ports.lease_block): two runs started together never share a block."""

from __future__ import annotations

import socket

import pytest

from jobslab import ports


def test_two_leases_get_different_blocks_and_a_full_range_says_so() -> None:
    first = ports.lease_block(3, first=29900, last=29920)
    second = ports.lease_block(3, first=29900, last=29920)
    try:
        assert {first.base, second.base} == {29900, 29910}
        assert first.ports == list(range(first.base, first.base + 3))
        with pytest.raises(OSError, match="no block of 3 free ports between 29900 and 29920"):
            ports.lease_block(3, first=29900, last=29920)
    finally:
        first.release()
        second.release()
    with ports.lease_block(3, first=29900, last=29910) as again:  # released: free again
        assert again.base == 29900


def test_a_block_with_a_busy_port_is_skipped() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 29931))
        busy.listen()
        with ports.lease_block(3, first=29930, last=29950) as lease:
            assert lease.base == 29940


def test_the_default_range_stays_below_the_ephemeral_ports() -> None:
    with ports.lease_block(6) as lease:
        assert lease.base >= 20000 and lease.ports[-1] < 32768
