"""environment.yml must list exactly pyproject.toml's dependencies, with the same ranges."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$")


def _normalise(requirement: str) -> tuple[str, str]:
    match = _REQ.match(requirement)
    assert match, requirement
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = ",".join(sorted(part.strip() for part in match.group(2).split(",") if part.strip()))
    return name, spec


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return dict(_normalise(r) for r in reqs)


def _environment() -> tuple[dict[str, str], dict]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for item in dep.get("pip", []):
                if not item.startswith("-"):
                    name, spec = _normalise(item)
                    found[name] = spec
        elif dep != "pip" and not dep.startswith("python="):
            name, spec = _normalise(dep)
            found[name] = spec
    return found, env


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    expected = _pyproject()
    found, _ = _environment()
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    assert not missing, f"environment.yml lacks {missing}; add them with pyproject's ranges"
    assert not extra, f"environment.yml lists {extra}, which pyproject.toml does not"


def test_environment_yml_uses_the_same_version_ranges() -> None:
    expected = _pyproject()
    found, _ = _environment()
    wrong = {name: (found[name], spec) for name, spec in expected.items()
             if name in found and found[name] != spec}
    assert not wrong, f"ranges differ (environment.yml, pyproject.toml): {wrong}"


def test_environment_yml_installs_the_package_itself_and_uses_conda_forge() -> None:
    _, env = _environment()
    assert env["channels"] == ["conda-forge"]
    pip_items = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_items
    assert any(str(d).startswith("python=3.12") for d in env["dependencies"])
