"""Port leases (jobslab.ports.lease_block): two runs started together never share a block."""

from __future__ import annotations

import socket

import pytest

from jobslab import ports

# These tests lease fixed blocks between the leased range (20000-32000, which the test run's
# own ports and the notebook runs beside it come from) and the ephemeral ports (32768-), with
# lock files of their own: nothing else running can hold them.


@pytest.fixture(autouse=True)
def _own_lease_dir(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "LEASE_DIR", tmp_path / "leases")


def test_two_leases_get_different_blocks_and_a_full_range_says_so() -> None:
    first = ports.lease_block(3, first=32100, last=32120)
    second = ports.lease_block(3, first=32100, last=32120)
    try:
        assert {first.base, second.base} == {32100, 32110}
        assert first.ports == list(range(first.base, first.base + 3))
        with pytest.raises(OSError, match="no block of 3 free ports between 32100 and 32120"):
            ports.lease_block(3, first=32100, last=32120)
    finally:
        first.release()
        second.release()
    with ports.lease_block(3, first=32100, last=32110) as again:  # released: free again
        assert again.base == 32100


def test_a_block_with_a_busy_port_is_skipped() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 32131))
        busy.listen()
        with ports.lease_block(3, first=32130, last=32150) as lease:
            assert lease.base == 32140


def test_the_default_range_stays_below_the_ephemeral_ports() -> None:
    with ports.lease_block(6) as lease:
        assert lease.base >= 20000 and lease.ports[-1] < 32768
