"""Running external commands (docker, kind, kubectl, helm, daprd, ...).

Everything the kind and self-hosted paths do to the outside world goes through a
:class:`Runner`, so tests put recording fakes on ``PATH`` (through the runner's ``env``)
instead of mocking Python functions. Every command is logged at DEBUG level.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import CommandError
from ..ports import wait
from .guarded import spawn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a finished command returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        """stdout and stderr together, stripped (for messages)."""
        return "\n".join(s for s in (self.stdout.strip(), self.stderr.strip()) if s)


def describe(argv: Sequence[str]) -> str:
    """The command line as a person would type it."""
    return shlex.join(argv)


def tail(text: str, lines: int = 12) -> str:
    """The last ``lines`` lines of ``text``, indented for an error message."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"    {line}" for line in kept)


@dataclass
class Runner:
    """Runs commands with a fixed environment.

    ``env`` replaces ``os.environ`` for every command (and for :meth:`which`); tests pass a
    ``PATH`` whose first entry holds fake executables.
    """

    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    default_timeout: float = 900.0
    _env: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._env = dict(os.environ if self.env is None else self.env)

    @property
    def environ(self) -> dict[str, str]:
        return dict(self._env)

    def which(self, name: str) -> str | None:
        """Full path of executable ``name`` on this runner's ``PATH``, or None."""
        return shutil.which(name, path=self._env.get("PATH", os.defpath))

    def _resolve(self, argv: Sequence[str]) -> list[str]:
        if not argv:
            raise ValueError("empty command")
        exe = argv[0] if os.sep in argv[0] else self.which(argv[0])
        if exe is None:
            raise CommandError(
                f"`{argv[0]}` was not found on PATH. Install it (see docs/kind.md) and run "
                "the command again."
            )
        return [exe, *argv[1:]]

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float | None = None,
        check: bool = True,
        what: str = "",
        fix: str = "",
    ) -> Result:
        """Run ``argv`` to completion and capture its output.

        With ``check`` (the default) a non-zero exit raises :class:`CommandError` whose
        message names ``what`` was being done, the command, the tail of its output and
        ``fix`` (what to do next).
        """
        resolved = self._resolve(argv)
        limit = self.default_timeout if timeout is None else timeout
        log.debug("run: %s", describe(argv))
        started = time.monotonic()
        try:
            proc = subprocess.run(
                resolved,
                input=input,
                capture_output=True,
                text=True,
                timeout=limit,
                env=self._env,
                cwd=self.cwd,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandError(
                f"{what or describe(argv)}: `{describe(argv)}` did not finish within "
                f"{limit:.0f} s.{_fix(fix)}"
            ) from exc
        result = Result(tuple(argv), proc.returncode, proc.stdout or "", proc.stderr or "")
        log.debug("exit %d after %.1f s: %s", result.returncode, time.monotonic() - started,
                  describe(argv))
        if check and not result.ok:
            raise CommandError(
                f"{what or 'command failed'}: `{describe(argv)}` exited with "
                f"{result.returncode}.\n{tail(result.output)}{_fix(fix)}",
                result,
            )
        return result

    def popen(
        self,
        argv: Sequence[str],
        *,
        stdout: IO[Any] | int | None = subprocess.DEVNULL,
        stderr: IO[Any] | int | None = subprocess.STDOUT,
        new_session: bool = False,
        guarded: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the background (port-forwards, daprd, the scheduler).

        ``new_session``: it outlives this process (the self-hosted scheduler). ``guarded``:
        it runs under :mod:`jobslab.processes.guard`, in a process group of its own — a
        notebook's "Interrupt kernel" leaves it alone, the end of this process stops it;
        the Popen is the guard's, whose pid is the group's (``os.killpg`` stops both).
        """
        resolved = self._resolve(argv)
        log.debug("start: %s", describe(argv))
        if guarded:
            return spawn(resolved, stdout=stdout, env=self._env, cwd=self.cwd)
        return subprocess.Popen(
            resolved,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=self._env,
            cwd=self.cwd,
            start_new_session=new_session,
        )


def _fix(fix: str) -> str:
    return f"\n  What to do: {fix}" if fix else ""


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
) -> None:
    """Poll ``condition`` until it is true, or raise :class:`TimeoutError` after ``timeout``."""
    if not wait(condition, timeout, interval):
        raise TimeoutError(f"{what} not reached within {timeout:.1f} s")
