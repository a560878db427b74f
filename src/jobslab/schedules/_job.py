"""When a whole job fires: schedule + dueTime + repeats + ttl.

Mirrors go-etcd-cron (v0.12.7 in Dapr 1.18.3): ``internal/scheduler/builder.go`` ``Parse``
(validation, begin and expiration), ``repeats.go``/``oneshot.go`` ``Next``, and
``internal/counter/counter.go`` ``updateNext`` (a tick after the expiry, or past the repeat
count, ends the job, the very first tick included).

Nothing is rounded to the second: ``Parse`` takes ``now := b.clock.Now().UTC()`` and a
relative dueTime or ttl is added to it unchanged (``parsePointInTime``: ``now.Add(dur)``, or
``now.AddDate(years, months, days).Add(duration)`` for ISO 8601), and dapr/kit's ``@every``
(``cron/constantdelay.go``) is ``t.Add(delay)``. So a job created at 10:00:00.5 with
``dueTime: "1s"`` fires at 10:00:01.5 and ``@every 1m`` at 10:01:00.5, 10:02:00.5, … Only cron
expressions land on whole seconds, because their ``Next`` starts from the next whole second.
(go-etcd-cron truncated ``now`` to the second until v0.10.0, "Remove cron truncations", #94.)

A schedule that never matches (``0 0 0 31 2 *``, February 31st) does not mean a job that never
fires. dapr/kit's ``Next`` returns Go's zero time (0001-01-01T00:00:00Z) when nothing matches
within five years, and neither ``repeats.go`` nor ``counter.go`` checks for it: the zero time
becomes the next tick, and it is always already due. ``LastTrigger`` is then the zero time,
``Next`` of it is the zero time again, and so on, so on Dapr 1.18.3 such a job fires back to
back (about 600-700 triggers a second against a local app) from its first tick (creation, or
its dueTime) until it is deleted or its ``repeats`` run out. A ``ttl`` does not stop it: the
expiry check is ``next.After(expiration)``, and the zero time is after nothing. Here that tick
is ``GO_ZERO_NS``. A schedule that does match, only not within five years of a tick (a leap day
from March 2096: 2100 is no leap year), gets the zero time too, and ``Next`` of it then walks
through the matches since year 1: all due at once.

Source, as read: go-etcd-cron ``internal/scheduler/builder.go`` at tag v0.12.4 and at master
0e8ef88 (the lines above are the same in both; Dapr 1.18.3's binaries report v0.12.7), and
dapr/kit ``cron/constantdelay.go`` and ``cron/spec.go`` at v0.17.0, v0.17.1 and main 6e5616a
(the same in all three; Dapr 1.18.3 reports v0.18.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._cron import Schedule, parse_schedule
from ._errors import ScheduleError
from ._gotime import GO_ZERO_NS, datetime_to_ns, format_rfc3339, ns_to_datetime, parse_rfc3339
from ._instants import parse_point_in_time


@dataclass(frozen=True)
class JobTiming:
    """The timing of one job, as the Scheduler stores it.

    Build it with :meth:`build` (which validates like Dapr), then ask :meth:`next_ns` for each
    tick. Instants are nanoseconds since the epoch; :meth:`fires` gives datetimes.
    """

    schedule: str | None
    repeats: int | None
    #: Creation time to the nanosecond, not rounded (go-etcd-cron's ``now``); a schedule
    #: without dueTime first fires at ``Next(start)``, and a relative ttl counts from it.
    start_ns: int
    #: The absolute due time, when the job has one; it is then the first tick.
    due_ns: int | None
    #: The absolute expiry instant from ``ttl``; no tick after it fires.
    expiration_ns: int | None

    @classmethod
    def build(
        cls,
        *,
        schedule: str | None = None,
        due_time: str | None = None,
        ttl: str | None = None,
        repeats: int | None = None,
        created: datetime | int,
    ) -> JobTiming:
        """Validate a job's timing fields as the Scheduler does and resolve relative times.

        ``created`` is the creation time (timezone-aware datetime, or ns since the epoch).
        Raises :class:`ScheduleError` carrying Dapr's raw message.
        """
        if due_time is None and schedule is None:
            raise ScheduleError("job must have either a due time or a schedule")
        if schedule is None and repeats is not None and repeats > 1:
            raise ScheduleError("job must have a schedule to repeat", field="repeats")
        if repeats is not None and repeats < 1:
            raise ScheduleError("defined repeats must be greater than 0", field="repeats")
        if schedule is None and ttl is not None:
            raise ScheduleError("job must have a schedule to have a ttl", field="ttl")
        if schedule is not None:
            parse_schedule(schedule)
        # builder.go: now := b.clock.Now().UTC(), used as is (no Truncate).
        now = created if isinstance(created, int) else datetime_to_ns(created)
        due_ns = None
        if due_time is not None:
            due_ns = parse_point_in_time(due_time, now, field="dueTime")
        expiration = None
        if ttl is not None:
            start = due_ns if due_ns is not None else now
            try:
                expiration = parse_point_in_time(ttl, start, field="ttl")
            except ScheduleError:
                raise ScheduleError("ttl format not recognized", field="ttl") from None
            if due_ns is not None and due_ns > expiration:
                raise ScheduleError("ttl must be greater than due time", field="ttl")
        return cls(schedule, repeats, now, due_ns, expiration)

    @property
    def is_oneshot(self) -> bool:
        return self.schedule is None

    def parsed(self) -> Schedule | None:
        return None if self.schedule is None else parse_schedule(self.schedule)

    def next_ns(self, count: int, last_ns: int | None) -> int | None:
        """The tick after ``count`` completed ticks, the last scheduled at ``last_ns``.

        ``None`` means the job is finished and the Scheduler deletes it. ``GO_ZERO_NS`` (Go's
        zero time) is a tick that is always due: the schedule matched nothing within five
        years (see the module's docstring).
        """
        if self.repeats is not None and count >= self.repeats:
            return None
        sched = self.parsed()
        if sched is None:
            return self.due_ns if count < 1 else None
        if last_ns is None:
            nxt = self.due_ns if self.due_ns is not None else sched.next_ns(self.start_ns)
        else:
            nxt = sched.next_ns(last_ns)
        if nxt is None:
            # cron.Next's zero time: go-etcd-cron does not check for it, and it is never
            # After(expiration), so it is a tick like any other.
            nxt = GO_ZERO_NS
        if self.expiration_ns is not None and nxt > self.expiration_ns:
            return None
        return nxt

    @property
    def loops(self) -> bool:
        """True when the schedule never matches: Dapr then fires the job back to back, at
        Go's zero time, until it is deleted or its repeats run out (see the module's
        docstring)."""
        sched = self.parsed()
        return sched is not None and sched.never_matches

    def iter_ns(self, *, after_ns: int | None = None) -> Iterator[int]:
        """Every tick, in order of firing, assuming each trigger succeeds; ``after_ns`` skips
        earlier ones.

        Endless for a job without ``repeats`` on a schedule that never matches (``GO_ZERO_NS``
        forever; :attr:`loops`), so take a bounded slice. Ticks are not always increasing:
        after a ``GO_ZERO_NS`` tick, a schedule that does match restarts from year 1.
        """
        count, last = 0, None
        # A GO_ZERO_NS tick was skipped (not after after_ns) and nothing yielded since. The
        # ticks after a zero-time one depend on nothing else, so a second such tick means they
        # repeat forever and none will come after after_ns: stop rather than spin.
        quiet_zero = False
        while True:
            nxt = self.next_ns(count, last)
            if nxt is None:
                return
            if after_ns is None or nxt > after_ns:
                quiet_zero = False
                yield nxt
            elif nxt == GO_ZERO_NS:
                if quiet_zero:
                    return
                quiet_zero = True
            count, last = count + 1, nxt

    def fires(self, n: int = 10) -> list[datetime]:
        """The first ``n`` fire times (UTC datetimes), assuming each trigger succeeds."""
        out: list[datetime] = []
        for ns in self.iter_ns():
            if len(out) >= n:
                break
            out.append(ns_to_datetime(ns))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form for a job store; :meth:`from_dict` reads it back."""
        return {
            "schedule": self.schedule,
            "repeats": self.repeats,
            "start": format_rfc3339(self.start_ns),
            "due": None if self.due_ns is None else format_rfc3339(self.due_ns),
            "expiration": None
            if self.expiration_ns is None
            else format_rfc3339(self.expiration_ns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobTiming:
        def opt(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else parse_rfc3339(value)

        return cls(
            schedule=data.get("schedule"),
            repeats=data.get("repeats"),
            start_ns=parse_rfc3339(data["start"]),
            due_ns=opt("due"),
            expiration_ns=opt("expiration"),
        )


def job_fires(
    *,
    created: datetime | int,
    schedule: str | None = None,
    due_time: str | None = None,
    ttl: str | None = None,
    repeats: int | None = None,
    n: int = 10,
) -> list[datetime]:
    """Fire times of a job created at ``created``, as the Scheduler would fire it."""
    timing = JobTiming.build(
        schedule=schedule, due_time=due_time, ttl=ttl, repeats=repeats, created=created
    )
    return timing.fires(n)
