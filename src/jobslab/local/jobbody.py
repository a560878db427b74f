"""Decode a schedule (POST) body the way daprd's protojson does
(docs/dapr-behaviour.md#request-body).

``DiscardUnknown: true``: unknown fields are ignored; lowerCamel and proto names are both
accepted; an empty body is ``{}``. Anything protojson would refuse raises :class:`Malformed`
with a ``proto: …`` message (daprd answers 400 ``ERR_MALFORMED_REQUEST``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..errors import JobslabError
from ..schedules._gotime import go_quote
from .http_errors import encode_value

UINT32_MAX = 2**32 - 1
_DURATION = re.compile(r"^(-)?([0-9]+)(?:\.([0-9]{1,9}))?s$")
_MAX_DURATION_S = 315_576_000_000
#: Longest job key ``app||<namespace>||<app-id>||<name>`` the Scheduler accepts, in bytes
#: (daprd 1.18.3: with app-id ``ab`` a 494-character name passes, 495 fails).
MAX_NAME_LENGTH = 512


class Malformed(JobslabError, ValueError):
    """A body protojson would not decode; ``str()`` is the ``proto: …`` text."""


@dataclass(frozen=True)
class FailurePolicy:
    """``drop`` or ``constant``; ``interval_ns``/``max_retries`` None when unset."""

    kind: str  # "drop" | "constant"
    interval_ns: int | None = None
    max_retries: int | None = None

    def to_json(self) -> dict[str, Any]:
        if self.kind == "drop":
            return {"drop": {}}
        const: dict[str, Any] = {}
        if self.interval_ns is not None:
            const["interval"] = format_duration(self.interval_ns)
        if self.max_retries is not None:
            const["maxRetries"] = self.max_retries
        return {"constant": const}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailurePolicy:
        if "drop" in data:
            return cls("drop")
        const = data.get("constant", {})
        interval = const.get("interval")
        return cls("constant", None if interval is None else parse_duration(interval),
                   const.get("maxRetries"))


#: What every job without a policy gets (go-etcd-cron ``builder.go``): 1 s × 3 retries.
DEFAULT_POLICY = FailurePolicy("constant", 1_000_000_000, 3)


@dataclass(frozen=True)
class JobRequest:
    """A decoded schedule request. ``data`` is the protojson text of the Value, or None."""

    schedule: str | None = None
    repeats: int | None = None
    due_time: str | None = None
    ttl: str | None = None
    data: str | None = None
    overwrite: bool = False
    failure_policy: FailurePolicy | None = None
    name_in_body: bool = False


def parse_duration(text: str) -> int:
    """A protobuf ``Duration`` in JSON (``"3s"``, ``"0.5s"``) → ns; ``Malformed`` otherwise."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m:
        raise Malformed(f"proto: invalid google.protobuf.Duration value {json.dumps(text)}")
    secs = int(m.group(2))
    frac = (m.group(3) or "").ljust(9, "0")
    if secs > _MAX_DURATION_S:
        raise Malformed(f"proto: google.protobuf.Duration value out of range: {text!r}")
    ns = secs * 1_000_000_000 + int(frac or "0")
    return -ns if m.group(1) else ns


def format_duration(ns: int) -> str:
    """protojson's Duration text: ``1s``, ``1.500s``, ``0.000000001s``."""
    sign = "-" if ns < 0 else ""
    secs, frac = divmod(abs(ns), 1_000_000_000)
    if frac == 0:
        return f"{sign}{secs}s"
    digits = f"{frac:09d}"
    while digits.endswith("000"):
        digits = digits[:-3]
    return f"{sign}{secs}.{digits}s"


def _reject_constant(token: str) -> Any:
    raise Malformed(f"proto: syntax error: unexpected token {token}")


def _top_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Malformed(f'proto: duplicate field "{key}"')
        out[key] = value
    return out


def _field(body: dict[str, Any], camel: str, proto: str) -> Any:
    if camel in body and proto in body and camel != proto:
        raise Malformed(f'proto: duplicate field "{proto}"')
    return body.get(camel, body.get(proto))


def _string(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"proto: invalid value for string field {field}: {_raw(value)}")
    return value


def _uint32(value: Any, field: str) -> int | None:
    if value is None:
        return None
    number: Any = value
    if isinstance(value, str):  # protojson accepts quoted numbers
        try:
            number = json.loads(value) if value.strip() == value else None
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise Malformed(f"proto: invalid value for uint32 field {field}: {_raw(value)}")
    if isinstance(number, float) and not number.is_integer():
        raise Malformed(f"proto: invalid value for uint32 field {field}: {_raw(value)}")
    if not 0 <= number <= UINT32_MAX:
        raise Malformed(f"proto: invalid value for uint32 field {field}: {_raw(value)}")
    return int(number)


def _raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _check_strings(value: Any) -> None:
    """protojson refuses invalid UTF-8 (lone surrogates once decoded by Python)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed("proto: invalid UTF-8 in string") from None
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)


def _policy(value: Any) -> FailurePolicy | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"proto: invalid value for message field failurePolicy: {_raw(value)}")
    drop = value.get("drop")
    constant = value.get("constant")
    if drop is not None and constant is not None:
        raise Malformed('proto: error parsing "constant", oneof '
                        "dapr.proto.common.v1.JobFailurePolicy.policy is already set")
    if drop is not None:
        if not isinstance(drop, dict):
            raise Malformed(f"proto: invalid value for message field drop: {_raw(drop)}")
        return FailurePolicy("drop")
    if constant is not None:
        if not isinstance(constant, dict):
            raise Malformed(f"proto: invalid value for message field constant: {_raw(constant)}")
        interval = constant.get("interval")
        interval_ns = None if interval is None else parse_duration(interval)
        retries = _uint32(_field(constant, "maxRetries", "max_retries"), "maxRetries")
        return FailurePolicy("constant", interval_ns, retries)
    return None  # {} or only unknown fields: no policy set, the default applies


def decode(raw: bytes) -> JobRequest:
    """Decode a POST body; raise :class:`Malformed` as protojson would."""
    if not raw:
        return JobRequest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("proto: syntax error (line 1:1): invalid UTF-8 in JSON") from None
    try:
        body = json.loads(text, object_pairs_hook=_top_pairs, parse_constant=_reject_constant)
    except Malformed:
        raise
    except json.JSONDecodeError as exc:
        raise Malformed(
            f"proto: syntax error (line {exc.lineno}:{exc.colno}): {exc.msg.lower()}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"proto: syntax error: {exc}") from None
    if not isinstance(body, dict):
        token = text.strip()[:1] or "EOF"
        raise Malformed(f"proto: syntax error (line 1:1): unexpected token {token}")
    name = _string(body.get("name"), "name")
    data_present = "data" in body
    data = body.get("data")
    if data_present:
        _check_strings(data)
        try:
            encoded = encode_value(data)
        except (OverflowError, ValueError) as exc:
            raise Malformed(f"proto: invalid value for data: {exc}") from None
    overwrite = body.get("overwrite")
    if overwrite is not None and not isinstance(overwrite, bool):
        raise Malformed(f"proto: invalid value for bool field overwrite: {_raw(overwrite)}")
    return JobRequest(
        schedule=_string(body.get("schedule"), "schedule"),
        repeats=_uint32(body.get("repeats"), "repeats"),
        due_time=_string(_field(body, "dueTime", "due_time"), "dueTime"),
        ttl=_string(body.get("ttl"), "ttl"),
        data=encoded if data_present else None,
        overwrite=bool(overwrite),
        failure_policy=_policy(_field(body, "failurePolicy", "failure_policy")),
        name_in_body=bool(name),
    )


def name_error(name: str, namespace: str = "default", app_id: str = "") -> str | None:
    """Why the Scheduler refuses a job name, or None (Dapr 1.18.3, checked on the real
    binaries: docs/dapr-behaviour.md#job-names).

    The check is on the full key ``app||<namespace>||<app-id>||<name>``, quoted as Go's ``%q``
    does: at most 512 bytes; no ``/``, ``\\``, ``#``, ``?``; no control characters. ``.`` and
    ``..`` are accepted.
    """
    key = f"app||{namespace}||{app_id}||{name}"
    prefix = f"job name is invalid {go_quote(key)}: "
    if len(key.encode("utf-8", "surrogatepass")) > MAX_NAME_LENGTH:
        return prefix + f"must be at most {MAX_NAME_LENGTH} characters"
    if any(ch in "/\\#?" for ch in name):
        return prefix + "must not contain '/', '\\', '#' or '?'"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return prefix + "must not contain control characters"
    return None
