"""``jobslab.jobs`` when the sidecar does not answer: a message that says what to check."""

from __future__ import annotations

import socket

import pytest

from jobslab import jobs


def test_a_sidecar_that_takes_the_request_but_never_answers(monkeypatch) -> None:
    """A sidecar waiting for its Scheduler holds the request (daprd up to 30 s): the client
    says so, and points at the Scheduler, instead of "is the sidecar running?"."""
    monkeypatch.setattr(jobs, "TIMEOUT", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections (the kernel's backlog), never answers
        port = silent.getsockname()[1]
        with pytest.raises(jobs.DaprError) as err:
            jobs.schedule("j", due_time="1h", port=port)
    assert err.value.status == 0
    assert "did not answer within 0.3 s" in err.value.message
    assert "Scheduler" in err.value.message and "jobslab status" in err.value.message


def test_no_sidecar_at_all_says_to_start_one() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        with pytest.raises(jobs.DaprError) as err:
            jobs.get("j", port=port)
    assert "no answer from the Dapr sidecar" in err.value.message


def test_a_job_prints_as_indented_json_and_is_still_a_dict() -> None:
    """print(jobs.get(...)) shows one field per line, not one long line that wraps
    mid-word in the browser; the value is the dict Dapr returned."""
    import json

    from IPython.lib.pretty import pretty

    answer = {"name": "report", "schedule": "0 0 2 * * *",
              "data": {"@type": "type.googleapis.com/google.protobuf.Value", "value": "é"}}
    job = jobs.Job(answer)
    assert job == answer and isinstance(job, dict)
    assert str(job) == json.dumps(answer, indent=2, ensure_ascii=False)
    assert str(job).splitlines()[1] == '  "name": "report",'
    assert pretty(job) == str(job)
