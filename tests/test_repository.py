"""The repository stands alone: nothing in it cites documents that are not in it, and every
section of these docs that code, tests or docs point at exists (docs/architecture.md#conventions);
and its tests take their shared code from one place, tests/support, never from one another
(docs/architecture.md#test-tiers).

Rules of Dapr's behaviour are cited as ``docs/dapr-behaviour.md#<section>``; the project's own
structure as ``docs/architecture.md#<section>``; setup and problems as ``docs/kind.md#…`` and
"docs/troubleshooting.md (problem N)". Anchors follow GitHub's rules: the heading in lower case,
punctuation dropped, spaces turned into hyphens, a repeated heading suffixed ``-1``, ``-2``…
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.lanes import FAST_LANE, ProcessInFastLane

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
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


# --- the tests' own layout: shared code comes from tests/support ----------------------------

#: Calls that load a module from a file path, or put a folder on the import path.
PATH_LOADERS = {"spec_from_file_location", "SourceFileLoader", "SourcelessFileLoader",
                "run_path", "load_source", "addsitedir"}
#: What conftest.py may define besides fixtures, ``pytest_*`` hooks and private names.
CONFTEST_NAMES = {"pytest_plugins", "collect_ignore", "collect_ignore_glob"}


def names_of_test_modules() -> set[str]:
    """Every name a test module, a conftest or a test package can be imported by (their
    folders are on sys.path, or packages under tests/), and "tests" itself."""
    names = {"tests"}
    for path in TESTS.rglob("*.py"):
        rel = path.relative_to(TESTS)
        if rel.parts[0] != "support":
            names.update((*rel.parts[:-1], path.stem))
    names.discard("__init__")
    return names


def _is_sys_path(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):
        node = node.value
    return (isinstance(node, ast.Attribute) and node.attr == "path"
            and isinstance(node.value, ast.Name) and node.value.id == "sys")


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in node.decorator_list)


def layout_problems(rel: str, source: str, local: set[str]) -> list[str]:
    """What breaks the layout in the file ``tests/<rel>``: a helper module outside
    tests/support, a relative import, an import of a test module, conftest or test package
    (``local`` holds their names), a module loaded by file path or a change to ``sys.path``,
    and in a conftest anything public but fixtures and hooks."""
    parts = Path(rel).parts
    name = parts[-1]
    in_support = parts[0] == "support"
    found = []
    if not in_support and not (name.startswith("test_") or name in ("conftest.py",
                                                                   "__init__.py")):
        found.append(f"{rel}: a helper module among the tests; shared code lives in "
                     "tests/support")
    tree = ast.parse(source, rel)
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append(f"{where}: relative import from {'.' * node.level}{node.module or ''}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                       else [a.name for a in node.names])
            found += [f"{where}: imports {m}, a test module, conftest or test package"
                      for m in modules if m.split(".")[0] in local]
        elif isinstance(node, ast.Call):
            func = node.func
            called = (func.attr if isinstance(func, ast.Attribute)
                      else func.id if isinstance(func, ast.Name) else "")
            first = node.args[0] if node.args else None
            if called in PATH_LOADERS:
                found.append(f"{where}: {called}() loads code by file path")
            elif isinstance(func, ast.Attribute) and _is_sys_path(func.value):
                found.append(f"{where}: sys.path.{called}()")
            elif (called in ("import_module", "__import__") and isinstance(first, ast.Constant)
                  and str(first.value).split(".")[0] in local):
                found.append(f"{where}: {called}({first.value!r}), a test module")
            elif called in ("exec", "eval") and isinstance(first, ast.Call):
                found.append(f"{where}: {called}() of code read at run time")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_sys_path(t) for t in targets):
                found.append(f"{where}: assigns to sys.path")
    if name == "conftest.py":
        for node in tree.body:
            names: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not (_is_fixture(node) or node.name.startswith("pytest_")):
                    names = [node.name]
            elif isinstance(node, ast.ClassDef):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)
                         and t.id not in CONFTEST_NAMES]
            found += [f"{rel}:{node.lineno}: {n} in a conftest, which holds fixtures and hooks "
                      "only; shared code lives in tests/support"
                      for n in names if not n.startswith("_")]
    return found


def test_tests_take_shared_code_from_support_only() -> None:
    local = names_of_test_modules()
    files = sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)
    found = [problem for path in files for problem in layout_problems(
        path.relative_to(TESTS).as_posix(), path.read_text(encoding="utf-8"), local)]
    assert not found, ("tests import no test module, conftest or file path; put shared code "
                       "in tests/support and import it as `support.<module>`:\n"
                       + "\n".join(found))
    # and the check sees what it is about
    assert {"conftest", "test_manifests", "local", "cluster", "serve"} <= local
    assert "support" not in local
    users = [p for p in files if "from support." in p.read_text(encoding="utf-8")]
    assert len(users) > 20


@pytest.mark.parametrize(("rel", "source"), [
    ("local/test_x.py", "from ._helpers import stack\n"),
    ("cluster/test_x.py", "from .conftest import Fakes\n"),
    ("cluster/test_x.py", "from . import test_manifests\n"),
    ("cluster/test_x.py", "from cluster.test_manifests import CRON\n"),
    ("serve/test_x.py", "from test_backends_selfhosted import make_app\n"),
    ("serve/test_x.py", "import conftest\n"),
    ("test_x.py", "import tests.local.conftest\n"),
    ("serve/test_x.py", "import importlib.util\n"
                        "spec = importlib.util.spec_from_file_location('c', 'c/conftest.py')\n"),
    ("test_x.py", "import runpy\nrunpy.run_path('tests/local/conftest.py')\n"),
    ("test_x.py", "import importlib\nimportlib.import_module('test_manifests')\n"),
    ("test_x.py", "import sys\nsys.path.insert(0, 'tests/cluster')\n"),
    ("test_x.py", "import sys\nsys.path += ['tests/cluster']\n"),
    ("test_x.py", "import sys\nsys.path[:0] = ['tests/cluster']\n"),
    ("test_x.py", "exec(open('tests/local/conftest.py').read())\n"),
    ("local/_helpers.py", "def free_port() -> int: ...\n"),
    ("cluster/conftest.py", "def free_port_block(count: int) -> int: ...\n"),
    ("cluster/conftest.py", "class Fakes: ...\n"),
    ("conftest.py", "CRON = 'apiVersion: dapr.io/v1alpha1'\n"),
    ("support/fakes.py", "from cluster.conftest import TOOLS\n"),
])
def test_a_layout_problem_is_found(rel: str, source: str) -> None:
    assert len(layout_problems(rel, source, names_of_test_modules())) == 1


def test_what_the_layout_allows_passes() -> None:
    local = names_of_test_modules()
    assert layout_problems("local/test_x.py", (
        "import sys\nimport jobslab.local\nfrom jobslab import schedules\n"
        "from support.stacks import stack\nos = __import__('os')\n"
        "env = {'PYTHONPATH': ':'.join(sys.path)}\n"), local) == []
    assert layout_problems("cluster/conftest.py", (
        "import pytest\nfrom support.fakes import Fakes\n_STATE = {}\n"
        "@pytest.fixture\ndef fakes(): ...\n@pytest.fixture(scope='module')\ndef up(): ...\n"
        "def pytest_configure(config): ...\ndef _private(): ...\n"), local) == []
    assert layout_problems("support/stacks.py", "from support.waiting import wait_until\n",
                           local) == []


# --- the fast lane starts no process (tests/support/lanes.py) --------------------------------


def test_a_fast_test_cannot_start_a_process() -> None:
    """This test is not marked slow, so the guard is armed: the process is refused before it
    starts, and recorded, so that the test fails even if the refusal is swallowed."""
    with pytest.raises(ProcessInFastLane, match="test_a_fast_test_cannot_start_a_process is "
                                                "not marked slow but starts a process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)
    assert len(FAST_LANE.started) == 1
    FAST_LANE.started.clear()  # this test meant to


def _frame_in(module: str):  # type: ignore[no-untyped-def]
    """A frame of code running as ``module``, called from here."""
    scope = {"__name__": module, "sys": sys}
    exec("frame = sys._getframe()", scope)
    return scope["frame"]


def test_only_the_repositorys_processes_are_blamed() -> None:
    assert FAST_LANE.blames(sys._getframe())                        # the test's own
    assert FAST_LANE.blames(_frame_in("somelib.client"))            # a library the test called
    assert not FAST_LANE.blames(_frame_in("matplotlib.font_manager"))  # its font cache
