"""Dapr's error bodies, byte for byte as daprd 1.18.3 writes them
(docs/dapr-behaviour.md#error-body, docs/dapr-behaviour.md#error-table).

- Scheduler errors use dapr/kit ``JSONErrorValue``: Go ``encoding/json`` output, fields in
  order, map keys sorted, HTML characters escaped, no trailing newline.
- A body that does not decode uses the older ``ERR_MALFORMED_REQUEST`` form without details.
- Values (job ``data``) are written the way protojson writes a ``google.protobuf.Value``:
  compact, keys sorted, numbers as float64. GET bodies use the compact ``","`` form; real
  daprd builds pick ``","`` or ``", "`` by a hash of the binary, so compare values, not bytes.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
VALUE_TYPE_URL = "type.googleapis.com/google.protobuf.Value"

SCHEDULE_EMPTY = "DAPR_SCHEDULER_SCHEDULE_EMPTY"
JOB_NAME_EMPTY = "DAPR_SCHEDULER_JOB_NAME_EMPTY"
JOB_NAME = "DAPR_SCHEDULER_JOB_NAME"
SCHEDULE_JOB = "DAPR_SCHEDULER_SCHEDULE_JOB"
GET_JOB = "DAPR_SCHEDULER_GET_JOB"
DELETE_JOB = "DAPR_SCHEDULER_DELETE_JOB"
MALFORMED = "ERR_MALFORMED_REQUEST"

_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                       "\u2028": "\\u2028", "\u2029": "\\u2029",
                       # a byte of invalid UTF-8 kept by surrogateescape: Go writes \ufffd
                       **{chr(0xDC00 + b): "\\ufffd" for b in range(0x80, 0x100)}})


def go_json(obj: Any) -> bytes:
    """Go ``encoding/json.Marshal`` of plain data: compact, HTML-escaped, UTF-8; a string
    holding bytes of invalid UTF-8 (decoded with ``surrogateescape``) gets ``\\ufffd`` for
    each, as Go writes them."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_HTML).encode("utf-8")


def error_body(code: str, message: str, *, app_id: str, namespace: str | None) -> bytes:
    """A KIT ``JSONErrorValue`` body with one ErrorInfo detail (namespace omitted if None)."""
    metadata = {"appID": app_id}
    if namespace is not None:
        metadata["namespace"] = namespace
    return go_json({
        "errorCode": code,
        "message": message,
        "details": [{"@type": ERROR_INFO, "domain": "dapr.io", "metadata": metadata,
                     "reason": code}],
    })


def malformed_body(detail: str) -> bytes:
    """``ERR_MALFORMED_REQUEST`` for a body protojson would not decode (no details)."""
    return go_json({"errorCode": MALFORMED,
                    "message": f"failed deserializing HTTP body: {detail}"})


# --- protojson google.protobuf.Value ----------------------------------------------------


def format_number(value: float) -> str:
    """A float64 as protojson writes it (ES6 style: ``1e+21``, ``1e-7``, ``100``, ``0.5``)."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    mag = abs(value)
    if 1e-6 <= mag < 1e21:
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    sign = exp[0] if exp[:1] in "+-" else "+"
    digits = exp.lstrip("+-").lstrip("0") or "0"
    return f"{mantissa}e{sign}{digits}"


def encode_value(value: Any) -> str:
    """Compact protojson of a JSON value: keys sorted at every level, numbers as float64."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return format_number(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(encode_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + encode_value(value[k])
            for k in sorted(value)
        ) + "}"
    raise TypeError(f"not a JSON value: {type(value).__name__}")
