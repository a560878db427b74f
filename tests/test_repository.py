"""The repository stands alone: nothing in it cites documents that are not in it, and every
section of these docs that code, tests or docs point at exists (docs/architecture.md#conventions).

Rules of Dapr's behaviour are cited as ``docs/dapr-behaviour.md#<section>``; the project's own
structure as ``docs/architecture.md#<section>``; setup and problems as ``docs/kind.md#…`` and
"docs/troubleshooting.md (problem N)". Anchors follow GitHub's rules: the heading in lower case,
punctuation dropped, spaces turned into hyphens, a repeated heading suffixed ``-1``, ``-2``…
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCOPE = ("src", "tests", "docs", "scripts", "benchmarks", "README.md")

#: Citations of documents that live outside the repository: the section sign (as in "contract
#: <sign>4" or "spec <sign>2.3"), the design note and the research notes it was written from,
#: and paths to the folder next to the clone. Spelled in pieces so that this file does not
#: cite them itself.
FORBIDDEN = (
    "\u00a7",
    "DESIGN" ".md",
    "contract" ".md",
    "cluster-path" ".md",
    "anchors" ".md",
    "peers-and-perf" ".md",
    "../" "shared",
)

#: Files left out of the citation check, with the reason. ``.ci/run`` (outside SCOPE anyway)
#: installs real Dapr from the folder next to the clone when the CI machine provides it; that
#: is a command, not a citation. The command-line module of the stand-in is being reworked by a
#: separate change that owns the file, and its module docstring still names the design note
#: until that change lands; it is checked like every other file once it no longer needs this.
EXEMPT = {
    "src/jobslab/local/cli.py": "owned by the command-line rework, which rewrites its docstring",
}


def tracked_files() -> list[Path]:
    """The tracked files under SCOPE (every file there when git is not available)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *SCOPE], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(ROOT)) for s in SCOPE for p in
                 ([ROOT / s] if (ROOT / s).is_file() else (ROOT / s).rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts]
    return [ROOT / n for n in sorted(names)]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or one deleted in the working tree)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_citations(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` for every line that cites a document outside the repository."""
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1)
            if any(bad in line for bad in FORBIDDEN)]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    """Every anchor of a Markdown file's headings (fenced code blocks skipped)."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    fenced = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            anchor = github_anchor(match.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


_DOC_REF = re.compile(r"(?<![\w/.-])(?:docs/)?([\w-]+\.md)#([\w-]+)")
_SAME_PAGE = re.compile(r"\]\(#([\w-]+)\)")
_PROBLEM_REF = re.compile(r"troubleshooting\.md\W{0,20}?problems?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)")


def doc_references(path: Path, text: str) -> list[tuple[Path, str]]:
    """``(doc, anchor)`` for every ``<page>.md#anchor`` a file cites that names a page of
    docs/ (links inside docs/ resolve against docs/; ``](#anchor)`` against the page itself)."""
    refs = []
    for page, anchor in _DOC_REF.findall(text):
        doc = DOCS / page
        if doc.exists():
            refs.append((doc, anchor))
    if path.suffix == ".md" and path.parent == DOCS:
        refs += [(path, anchor) for anchor in _SAME_PAGE.findall(text)]
    return refs


def problem_numbers() -> set[int]:
    """The numbered problems of docs/troubleshooting.md (``### 15. …``)."""
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    return {int(n) for n in re.findall(r"^###\s+(\d+)\.", text, re.M)}


FILES = [(p, t) for p in tracked_files() if (t := text_of(p)) is not None]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_checks_see_the_repository() -> None:
    names = {_rel(p) for p, _ in FILES}
    assert {"README.md", "docs/dapr-behaviour.md", "docs/architecture.md",
            "tests/conftest.py"} <= names
    assert any(n.startswith("src/jobslab/") for n in names)
    # and the other checks have something to check
    assert sum(len(doc_references(p, t)) for p, t in FILES if _rel(p).startswith("src/")) > 20
    assert sum(len(_PROBLEM_REF.findall(t)) for _, t in FILES) > 5


def test_no_file_cites_documents_outside_the_repository() -> None:
    found = [f"{_rel(p)}:{i}: {line}" for p, text in FILES if _rel(p) not in EXEMPT
             for i, line in outside_citations(text)]
    assert not found, ("cite docs/<page>.md#<section> or a public source instead:\n"
                       + "\n".join(found))


def test_every_cited_doc_section_exists() -> None:
    cache: dict[Path, set[str]] = {}
    missing = []
    for path, text in FILES:
        for doc, anchor in doc_references(path, text):
            if doc not in cache:
                cache[doc] = anchors(doc)
            if anchor not in cache[doc]:
                missing.append(f"{_rel(path)}: {_rel(doc)}#{anchor}")
    assert not missing, ("no such heading (GitHub anchors: lower case, punctuation dropped, "
                         "spaces as hyphens):\n" + "\n".join(missing))


def test_every_cited_troubleshooting_problem_exists() -> None:
    known = problem_numbers()
    missing = []
    for path, text in FILES:
        for group in _PROBLEM_REF.findall(text):
            missing += [f"{_rel(path)}: problem {n}" for n in map(int, re.findall(r"\d+", group))
                        if n not in known]
    assert not missing, "docs/troubleshooting.md has no such problem:\n" + "\n".join(missing)


def test_test_names_say_the_rule_not_a_section_number() -> None:
    numbered = [f"{_rel(p)}: {name}" for p, text in FILES if _rel(p).startswith("tests/")
                for name in re.findall(r"^\s*def (test_\w+)", text, re.M)
                if re.search(r"(?:^test_|_)(?:s|section)\d+_", name)]
    assert not numbered, "name the test after the rule it protects:\n" + "\n".join(numbered)


# --- the checks themselves can fail ---------------------------------------------------


@pytest.mark.parametrize("line", [
    "see contract \u00a74 for the rule", "(DESIGN" ".md, CLI)", "spec/cluster-path" ".md",
    "peers-and-perf" ".md", "sh ../" "shared" "/dapr/install",
])
def test_an_outside_citation_is_found(line: str) -> None:
    assert outside_citations(f"ok\n{line}\n") == [(2, line)]


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Failure policy", "failure-policy"),
    ("Day-of-month and day-of-week", "day-of-month-and-day-of-week"),
    ("Local-only features, and how a notebook skips them",
     "local-only-features-and-how-a-notebook-skips-them"),
    ("14. The app pod has no `daprd` container", "14-the-app-pod-has-no-daprd-container"),
    ("The self-hosted path (no Docker, no Kubernetes)",
     "the-self-hosted-path-no-docker-no-kubernetes"),
])
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_a_missing_section_or_problem_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text("# Title\n\n## Failure policy\n\n```\n## not a heading\n```\n## Title\n",
                   encoding="utf-8")
    assert anchors(doc) == {"title", "failure-policy", "title-1"}
    refs = doc_references(ROOT / "src" / "x.py",
                          "docs/dapr-behaviour.md#failure-policy docs/dapr-behaviour" ".md#nope "
                          "docs/absent.md#x README.md#y")
    assert refs == [(DOCS / "dapr-behaviour.md", "failure-policy"),
                    (DOCS / "dapr-behaviour.md", "nope")]
    assert "nope" not in anchors(DOCS / "dapr-behaviour.md")
    assert _PROBLEM_REF.findall("see docs/troubleshooting.md (problems 14, 15)") == ["14, 15"]
    assert 99 not in problem_numbers()
