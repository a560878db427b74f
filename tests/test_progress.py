"""jobslab.progress: one live line in a kernel, nothing printed anywhere else.

- Outside a kernel (plain Python, pytest, the CLI) nothing is printed (library code logs).
- In a kernel the line is one display_data, updated in place by display id, only from the
  main thread (docs/architecture.md#kernel-hygiene).
- ``until`` and ``sleep`` keep their timing promises; ``until`` raises TimeoutError naming what
  it waited for.
- The progress rule of tests/nbval-sanitize.cfg maps the first and the last state of a line
  (what nbval sees and what the committed notebook holds) to the same text.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest

from jobslab import progress
from jobslab.hosting._recording import Trigger, TriggerLog

SANITIZE = Path(__file__).parent / "nbval-sanitize.cfg"


def sanitize(text: str) -> str:
    """Apply tests/nbval-sanitize.cfg as nbval does (its get_sanitize_patterns + re.sub)."""
    pairs = re.findall("^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(encoding="utf-8"),
                       flags=re.MULTILINE)
    assert pairs, "no regex/replace pairs found in nbval-sanitize.cfg"
    for regex, replace in pairs:
        text = re.sub(regex, replace, text)
    return text


class FakeHandle:
    def __init__(self, events: list, bundle: dict) -> None:
        self.events = events
        self.events.append(("display", bundle["text/plain"], threading.current_thread()))

    def update(self, bundle: dict, raw: bool = False) -> None:
        assert raw
        self.events.append(("update", bundle["text/plain"], threading.current_thread()))


@pytest.fixture
def fake_kernel(monkeypatch):
    """An IPython whose shell has a kernel, recording display()/update() calls."""
    events: list = []
    ipython = types.ModuleType("IPython")
    display_mod = types.ModuleType("IPython.display")
    shell = types.SimpleNamespace(kernel=object())
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]

    def display(bundle, raw=False, display_id=False):
        assert raw and display_id is True
        return FakeHandle(events, bundle)

    display_mod.display = display  # type: ignore[attr-defined]
    ipython.display = display_mod  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_mod)
    return events


def trigger(job: str) -> Trigger:
    return Trigger(dt.datetime.now(dt.UTC), 0, f"/job/{job}", job, 200, "")


# --- outside a kernel ----------------------------------------------------------------------


def test_outside_a_kernel_nothing_is_printed(capfd):
    progress.sleep(0.05, what="resting")
    assert progress.until(lambda: "yes", timeout=1, what="answer") == "yes"
    with pytest.raises(TimeoutError):
        progress.until(lambda: False, timeout=0.05, interval=0.01)
    with progress.Line("a line") as line:
        line.update("moved", force=True)
    log = TriggerLog()
    log.add(trigger("tick"))
    assert len(log.wait_for(1, job="tick", timeout=1)) == 1
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_terminal_ipython_without_a_kernel_prints_nothing(monkeypatch, capfd):
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    progress.sleep(0.01)
    assert capfd.readouterr() == ("", "")


def test_progress_never_imports_ipython_outside_a_kernel(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.delitem(sys.modules, "IPython.display", raising=False)
    progress.until(lambda: True, timeout=1)
    assert "IPython" not in sys.modules


# --- in a kernel ---------------------------------------------------------------------------


def test_in_a_kernel_one_line_is_displayed_then_updated_in_place(fake_kernel):
    progress.sleep(0.3, what="resting")
    kinds = [e[0] for e in fake_kernel]
    assert kinds[0] == "display" and kinds.count("display") == 1
    assert kinds.count("update") >= 2  # at least one countdown step and the final state
    assert all(text.startswith(progress.MARKER) for _, text, _ in fake_kernel)
    assert fake_kernel[-1][1] == progress.MARKER + "resting: done (0.3 s) " + progress.bar(1, 1)


def test_a_line_is_shown_even_when_nothing_has_to_be_waited_for(fake_kernel):
    """One display per wait, always: a CHECK cell's outputs then do not depend on timing."""
    progress.until(lambda: True, timeout=5, what="ready")
    log = TriggerLog()
    log.add(trigger("tick"))
    log.wait_for(1, job="tick", timeout=5)
    assert [e[0] for e in fake_kernel].count("display") == 2


def test_updates_are_throttled(fake_kernel):
    with progress.Line("start") as line:
        for i in range(1000):
            line.update(f"step {i}")
    updates = [e for e in fake_kernel if e[0] == "update"]
    assert len(updates) <= 3
    assert updates[-1][1] == progress.MARKER + "step 999"  # the last state is always shown


def test_an_interrupted_wait_leaves_the_line_marked_interrupted(fake_kernel):
    def boom():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        progress.until(boom, timeout=5, what="ready")
    assert fake_kernel[-1][1].endswith("(interrupted)")


def test_wait_for_shows_a_live_count_of_triggers(fake_kernel):
    log = TriggerLog()
    log.add(trigger("tick"))

    def arrive():
        for _ in range(2):
            time.sleep(0.15)
            log.add(trigger("tick"))
            log.add(trigger("other"))

    feeder = threading.Thread(target=arrive)
    feeder.start()
    got = log.wait_for(3, job="tick", timeout=5)
    feeder.join()
    assert len(got) == 3
    texts = [text for _, text, _ in fake_kernel]
    assert texts[0].startswith(progress.MARKER + "1/3 triggers of 'tick' ")
    assert texts[-1].startswith(progress.MARKER + "3/3 triggers of 'tick' ")
    assert "after" in texts[-1]
    # Only the waiting (main) thread touched the display, never the thread adding triggers.
    assert {thread for _, _, thread in fake_kernel} == {threading.main_thread()}


def test_wait_for_times_out_with_the_count_on_the_line(fake_kernel):
    log = TriggerLog()
    with pytest.raises(TimeoutError, match=r"0 trigger|none arrived"):
        log.wait_for(2, job="tick", timeout=0.2)
    assert fake_kernel[-1][1].startswith(progress.MARKER + "0/2 triggers of 'tick' ")
    assert "timed out after 0.2 s" in fake_kernel[-1][1]


def test_a_background_thread_never_touches_the_display(fake_kernel):
    errors: list[BaseException] = []

    def work():
        try:
            progress.sleep(0.05)
            progress.until(lambda: True, timeout=1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not errors
    assert fake_kernel == []


# --- timing semantics ----------------------------------------------------------------------


@pytest.mark.slow
def test_sleep_sleeps_at_least_the_time_asked():
    start = time.monotonic()
    progress.sleep(0.3)
    assert time.monotonic() - start >= 0.3


def test_sleep_of_zero_or_less_returns_at_once():
    start = time.monotonic()
    progress.sleep(0)
    progress.sleep(-3)
    assert time.monotonic() - start < 0.5


def test_until_returns_the_first_truthy_value_without_sleeping():
    calls = []

    def condition():
        calls.append(1)
        return {"name": "tick"}

    start = time.monotonic()
    assert progress.until(condition, timeout=10) == {"name": "tick"}
    assert calls == [1]
    assert time.monotonic() - start < 0.5


@pytest.mark.slow
def test_until_polls_at_the_interval_until_the_condition_holds():
    calls = []

    def condition():
        calls.append(time.monotonic())
        return len(calls) >= 4

    start = time.monotonic()
    assert progress.until(condition, timeout=10, interval=0.1) is True
    assert len(calls) == 4
    assert time.monotonic() - start >= 0.3  # three intervals between four checks


@pytest.mark.slow
def test_until_raises_timeout_error_naming_what_it_waited_for():
    calls = []

    def condition():
        calls.append(1)
        return None

    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"the job is deleted: timed out after 0\.3 s") as err:
        progress.until(condition, timeout=0.3, interval=0.05, what="the job is deleted")
    assert time.monotonic() - start >= 0.3
    assert f"checked {len(calls)} time(s)" in str(err.value)
    assert len(calls) >= 3  # checked repeatedly, and once more at the deadline


def test_until_propagates_an_error_from_the_condition():
    def condition():
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        progress.until(condition, timeout=5)


def test_until_rejects_a_non_positive_interval():
    with pytest.raises(ValueError, match="interval"):
        progress.until(lambda: True, timeout=1, interval=0)


# --- the nbval sanitize rule ---------------------------------------------------------------


def test_sanitize_maps_the_first_and_last_state_of_a_wait_to_the_same_text(fake_kernel):
    log = TriggerLog()
    threading.Timer(0.15, log.add, args=(trigger("tick"),)).start()
    log.wait_for(1, job="tick", timeout=5)
    progress.sleep(0.15, what="resting")
    progress.until(lambda: True, timeout=1, what="ready")
    with pytest.raises(TimeoutError):
        progress.until(lambda: False, timeout=0.1, what="never")
    displays = [i for i, e in enumerate(fake_kernel) if e[0] == "display"]
    assert len(displays) == 4
    ends = [*displays[1:], len(fake_kernel)]
    for first, end in zip(displays, ends, strict=True):
        initial, final = fake_kernel[first][1], fake_kernel[end - 1][1]
        assert initial != final or first == end - 1
        assert sanitize(initial) == sanitize(final) == "PROGRESS LINE"


def test_sanitize_leaves_other_output_alone_and_keeps_the_lines_around_it():
    text = "before\n" + progress.MARKER + "2/6 triggers of 'tick' ▕██░░▏ 0.4 s of 20 s\nafter"
    assert sanitize(text) == "before\nPROGRESS LINE\nafter"
    assert sanitize("3 triggers, all on replica 0") == "3 triggers, all on replica 0"


@pytest.mark.slow
def test_a_real_kernel_gets_one_display_data_then_updates_with_the_same_id():
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(textwrap.dedent("""
            from jobslab import progress
            progress.sleep(0.4, what="resting")
        """))
        msgs = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            msgs.append(msg)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    kinds = [m["msg_type"] for m in msgs if m["msg_type"] not in ("execute_input", "status")]
    assert "error" not in kinds and "stream" not in kinds, msgs
    assert kinds[0] == "display_data" and kinds.count("display_data") == 1
    assert kinds.count("update_display_data") >= 1
    ids = {m["content"]["transient"]["display_id"] for m in msgs
           if m["msg_type"] in ("display_data", "update_display_data")}
    assert len(ids) == 1
    last = [m for m in msgs if m["msg_type"] == "update_display_data"][-1]
    assert last["content"]["data"]["text/plain"].startswith(progress.MARKER + "resting: done")
