"""The grader's pure parts: naming submissions, reading them, scoring records, and the
gradebook's format (docs/labs-and-grading.md#grading). No process is started here."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from jobslab import checks, grading
from jobslab.grading import _grade
from jobslab.grading.cli import _range
from support.grading import LAB90, SOLUTION


@pytest.fixture(autouse=True)
def _fixture_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(checks.ENV_CHECKS_PATH, str(LAB90))


def _result(student: str, earned: list[int | None], status: str = "graded",
            reason: str = "") -> grading.SubmissionResult:
    exercises = []
    for ex, got in zip(checks.exercises("90"), earned, strict=True):
        passed = None if got is None else got == ex.points
        message = "not reached" if got is None else ("" if passed else "a hint, with, commas")
        exercises.append(grading.ExerciseResult(ex.id, ex.title, ex.points, got or 0, passed,
                                                message))
    return grading.SubmissionResult(student, "90", exercises, status, reason)


def test_the_csv_has_one_column_per_exercise_and_one_row_per_student() -> None:
    results = [_result("bob", [1, 0, None, None], "error", 'cell 9 raised "x", y'),
               _result("alice", [1, 1, 1, 2])]
    rows = list(csv.reader(io.StringIO(grading.csv_text("90", results))))
    assert rows == [
        ["student", "lab", "90.1", "90.2", "90.3", "90.4", "total", "max", "status", "reason"],
        ["alice", "90", "1", "1", "1", "2", "5", "5", "graded", ""],
        ["bob", "90", "1", "0", "0", "0", "1", "5", "error", 'cell 9 raised "x", y'],
    ]


def test_the_html_table_shows_pass_rates_and_escapes_text() -> None:
    results = [_result("<b>eve</b>", [1, 0, None, None], "error", "a < b"),
               _result("alice", [1, 1, 1, 2])]
    page = grading.html_text("90", results)
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "<b>eve</b>" not in page
    assert "a &lt; b" in page
    rates = page.split('<tr class="rates">')[1].split("</tr>")[0]
    assert rates.count("<td>") >= 4 and "<td>100%</td><td>50%</td><td>50%</td><td>50%</td>" \
        in rates


def test_feedback_lists_every_check_with_its_message() -> None:
    text = grading.feedback_text(_result("bob", [1, 0, None, None], "error", "cell 9 raised"))
    lines = text.splitlines()
    assert lines[:4] == ["Lab 90 — bob", "Score: 1 / 5", "Status: error (a cell raised)",
                         "Reason: cell 9 raised"]
    assert lines[5].startswith("✅ 90.1 ") and lines[6].startswith("❌ 90.2 ")
    assert lines[6].endswith("— a hint, with, commas")
    assert lines[7].startswith("– 90.3 ") and lines[7].endswith("— not reached")
    assert len(lines) == 9


def test_write_gradebook_replaces_old_feedback(tmp_path: Path) -> None:
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "gone.txt").write_text("old")
    paths = grading.write_gradebook(tmp_path, "90", [_result("alice", [1, 1, 1, 2])])
    assert sorted(p.name for p in paths["feedback"].iterdir()) == ["alice.txt"]
    assert paths["csv"].read_text(encoding="utf-8").startswith("student,lab,90.1")


def test_students_are_named_after_files_or_their_folders(tmp_path: Path) -> None:
    for rel in ("alice.ipynb", "x/lab.ipynb", "y/lab.ipynb", "z/we ird!.ipynb",
                "x/.ipynb_checkpoints/lab-checkpoint.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    names = [s.student for s in grading.find_submissions([tmp_path])]
    assert names == ["alice", "we_ird", "x-lab", "y-lab"]
    with pytest.raises(grading.GradingError, match="no such submission"):
        grading.find_submissions([tmp_path / "missing.ipynb"])


def test_a_corrupt_file_is_invalid_with_where_the_json_breaks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    nb, status, reason = _grade._read_notebook(bad)
    assert nb is None and status == "invalid"
    assert reason.startswith("not a notebook: corrupt JSON (") and "line 1 column" in reason
    bad.write_bytes(b"\xff\xfe\x00")
    assert _grade._read_notebook(bad)[1:] == ("invalid",
                                              "not a notebook: the file is not UTF-8 text")


def test_another_kernel_is_replaced_by_python3_and_noted(tmp_path: Path) -> None:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="x" * 1000)]
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    read, status, note = _grade._read_notebook(path)
    assert status == "" and note == "the notebook names kernel 'ir'; it ran on python3"
    assert read.metadata.kernelspec.name == "python3"
    assert all(not c.get("outputs") for c in read.cells)  # old outputs never reach the run


def test_unreached_exercises_score_zero_with_why() -> None:
    records = {"90.1": {"exercise": "90.1", "passed": True, "message": ""}}
    results, dropped = _grade._score("90", records, None, "cell 9 raised X")
    assert [(r.exercise, r.earned, r.passed) for r in results] == [
        ("90.1", 1, True), ("90.2", 0, None), ("90.3", 0, None), ("90.4", 0, None)]
    assert results[1].message == "not reached (cell 9 raised X)" and not dropped


def test_a_pass_no_check_cell_printed_is_not_counted() -> None:
    records = {ex: {"exercise": ex, "passed": True} for ex in ("90.1", "90.2")}
    results, dropped = _grade._score("90", records, {"90.1"}, "")
    assert [r.earned for r in results[:2]] == [1, 0] and dropped == ["90.2"]


def test_printed_passes_are_read_from_check_cells_only(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    check = nbformat.v4.new_code_cell('jobslab.check("90.1", app=app)')
    check.outputs = [nbformat.v4.new_output("stream", text="✅ 90.1 the handler …\n")]
    forged = nbformat.v4.new_code_cell('print("✅ 90.2 x")')
    forged.outputs = [nbformat.v4.new_output("stream", text="✅ 90.2 x\n")]
    nb.cells = [check, forged]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    assert _grade._printed_passes(path) == {"90.1"}
    assert _grade._printed_passes(tmp_path / "none.ipynb") is None


def test_the_results_file_keeps_the_last_record_and_skips_junk(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join([json.dumps({"exercise": "90.1", "passed": False}), "junk",
                               json.dumps({"exercise": "90.1", "passed": True}), "[1]"]))
    assert _grade._read_results(path) == {"90.1": {"exercise": "90.1", "passed": True}}


def test_cells_are_counted_in_the_learners_notebook() -> None:
    assert _grade._cell_label(9, injected=2) == "cell 9"
    assert _grade._cell_label(1, injected=2) == "cell 2"
    assert _grade._cell_label(2, injected=2) == "the injected parameters cell"
    assert _grade._cell_label(None, injected=None) == "a cell"


def test_reasons_carry_no_paths_ports_or_addresses(tmp_path: Path) -> None:
    box = grading._sandbox.Sandbox(tmp_path / "box", 21010, "local", (21000, 23000), tmp_path)
    text = (f"{tmp_path}/box/work/x.db at 0x7f12ab34cd56 port 21010 and 21015, "
            "not 210101\n  next line")
    assert _grade._sanitize(text, box) == ("<sandbox>/work/x.db at 0x… port <port> and "
                                           "<port>, not 210101 next line")


def test_a_port_range_inside_the_ephemeral_ports_is_refused() -> None:
    low, _ = _grade.ephemeral_ports()
    with pytest.raises(grading.GradingError, match="overlaps the ports the OS hands out"):
        _grade._check_range((low, low + 100))
    _grade._check_range(grading.DEFAULT_PORT_RANGE)
    assert _range("21000-21100") == (21000, 21100)
    with pytest.raises(Exception, match="FIRST-LAST"):
        _range("21000")


def test_an_unknown_lab_stops_grading_before_it_starts(tmp_path: Path) -> None:
    with pytest.raises(grading.GradingError, match="lab 96 has no checks"):
        grading.grade([tmp_path], "96")


def test_the_guard_fences_other_sandboxes_and_allows_its_own(tmp_path: Path) -> None:
    from jobslab.grading._guard import SITE, _Guard

    fence, mine, other = tmp_path / "run", tmp_path / "run" / "me", tmp_path / "run" / "you"
    for folder in (mine, other, fence / SITE):
        folder.mkdir(parents=True)
    (mine / "link").symlink_to(other)
    guard = _Guard("me", {21000}, 21000, 23000, None, str(fence), str(mine))
    assert guard.path_allowed(str(mine / "work" / "x.db"), write=True)
    assert guard.path_allowed(str(tmp_path / "elsewhere.txt"), write=True)
    assert guard.path_allowed(str(fence / SITE / "sitecustomize.py"), write=False)
    assert not guard.path_allowed(str(fence / SITE / "sitecustomize.py"), write=True)
    assert not guard.path_allowed(str(other / "results.jsonl"), write=False)
    assert not guard.path_allowed(str(fence), write=False)
    assert not guard.path_allowed(str(mine / "link" / "results.jsonl"), write=True)
    assert guard.path_allowed(3, write=True)  # a file descriptor: not a path


def test_the_guard_refuses_other_blocks_of_the_range_and_keeps_its_own() -> None:
    from jobslab.grading._guard import _Guard

    guard = _Guard("me", {21000, 21005}, 21000, 23000, None)
    assert guard.port_allowed(21000) and guard.port_allowed(21005)
    assert not guard.port_allowed(21010) and not guard.port_allowed(22995)
    assert guard.kill_allowed(12345, 0, group=False)  # signal 0 only asks
    assert guard.kill_allowed(0, 9, group=False)  # its own process group
    assert not guard.kill_allowed(-1, 9, group=False)  # everything it may signal
    assert not guard.kill_allowed(1, 9, group=False)  # init carries no grading id


def test_the_guard_looks_again_at_a_listener_psutil_has_not_matched_to_a_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """psutil reads open files before the socket table, so a process that began listening in
    between shows no pid: seen as a real-Dapr submission 'blocked' from its own Scheduler's
    health port on a loaded machine. The guard looks again; a port nobody listens on is
    allowed (the connection is refused) and asked about again later."""
    import psutil

    from jobslab.grading import _guard

    listen = psutil.CONN_LISTEN
    answers: list[list[int | None]] = []

    def net_connections(kind: str) -> list[SimpleNamespace]:
        pids = answers.pop(0) if len(answers) > 1 else answers[0]
        return [SimpleNamespace(status=listen, laddr=SimpleNamespace(port=40001), pid=pid)
                for pid in pids]

    monkeypatch.setattr(psutil, "net_connections", net_connections)
    monkeypatch.setattr(_guard, "LOOKUP_PAUSE", 0.0)
    guard = _guard._Guard("me", set(), 21000, 23000, None)
    monkeypatch.setattr(guard, "_owner_id", {1: "me", 2: "you", 3: ""}.get)
    answers[:] = [[]]
    assert guard.port_allowed(40001) and 40001 not in guard.ports
    answers[:] = [[None], [None], [1]]
    assert guard.port_allowed(40001) and guard.ports[40001]
    guard.ports.clear()
    answers[:] = [[None]]
    assert not guard.port_allowed(40001)
    for owner, allowed in ((2, False), (3, False), (1, True)):
        guard.ports.clear()
        answers[:] = [[owner]]
        assert guard.port_allowed(40001) is allowed


def test_jobslab_grade_exits_0_whatever_the_scores(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from jobslab.cli import main

    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "broken.ipynb").write_text("{", encoding="utf-8")
    out = tmp_path / "grades"
    assert main(["grade", str(tmp_path / "subs"), "--lab", "90", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "broken" in printed and "0/5" in printed and "invalid" in printed
    assert (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1].startswith(
        "broken,90,0,0,0,0,0,5,invalid,not a notebook: corrupt JSON")
    assert (out / "feedback" / "broken.txt").exists() and (out / "gradebook.html").exists()


def test_jobslab_grade_exits_2_when_grading_cannot_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jobslab.cli import main

    assert main(["grade", str(tmp_path), "--lab", "96"]) == 2
    assert "lab 96 has no checks" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--lab", "90", "--out", str(tmp_path / "o")]) == 2
    assert "no submissions" in capsys.readouterr().err


def test_a_blocked_reason_says_whose_ports_without_naming_them() -> None:
    said = _grade._ports_reached
    assert said([], (21000, 23000)) == ""
    assert said([{"kind": "kill", "target": 1}], (21000, 23000)) == ""
    assert said([{"kind": "port", "target": 21013}], (21000, 23000)) == \
        "tried to reach another submission's ports"
    assert said([{"kind": "port", "target": 34671}], (21000, 23000)) == \
        "tried to reach ports of other processes on this machine"
    assert said([{"kind": "port", "target": 21013}, {"kind": "port", "target": 8888}],
                (21000, 23000)) == ("tried to reach another submission's ports and ports of "
                                    "other processes on this machine")
