"""A schedule that never matches fires back to back, on the stand-in as on real Dapr 1.18.3.

dapr/kit's cron ``Next`` answers "no time within five years" with Go's zero time (year 1), and
go-etcd-cron takes that as the next fire time, always due. So ``0 0 0 31 2 *`` (February 31st)
does not mean "never": the job fires at once, again and again, until its repeats run out (or
it is deleted). The same test body runs against both backends.
"""

from __future__ import annotations

import time

import pytest

from support.stacks import RecordingApp, Sidecar, Stack
from support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_february_31st_with_repeats_fires_them_all_at_once(
    shared: tuple[Stack, Sidecar, RecordingApp],
) -> None:
    _, car, app = shared
    name = "feb31-repeats"
    with car.client() as http:
        resp = http.post(f"/v1.0/jobs/{name}",
                         json={"schedule": "0 0 0 31 2 *", "repeats": 3})
        assert resp.status_code == 204, resp.text
        # At once (well within the deadline), not in some year that has a February 31st.
        wait_until(lambda: len(app.jobs(name)) >= 3, timeout=15,
                   what="3 triggers of a job on 0 0 0 31 2 *")
        # Exactly its repeats, then the job is gone.
        wait_until(lambda: http.get(f"/v1.0/jobs/{name}").status_code == 500, timeout=15,
                   what="the job to be deleted after its repeats")
        time.sleep(0.5)
        assert len(app.jobs(name)) == 3
        assert http.get(f"/v1.0/jobs/{name}").status_code == 500
