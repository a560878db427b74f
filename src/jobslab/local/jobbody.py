"""Decode a schedule (POST) body the way daprd's protojson does
(docs/dapr-behaviour.md#request-body, docs/dapr-behaviour.md#decoder-messages).

daprd 1.18.3 decodes the body with ``protojson.UnmarshalOptions{DiscardUnknown: true,
AllowPartial: true}`` into ``dapr.proto.internals.v1.JobHTTPRequest`` (dapr/dapr v1.18.3
``pkg/api/http/universal.go``). This module is a port of the parts of protobuf-go v1.36.11 (the
version linked into daprd 1.18.3) that run for that message, so a body is refused exactly when
daprd refuses it, with daprd's words and position:

- ``internal/encoding/json/decode.go``, ``decode_string.go``, ``decode_number.go``,
  ``decode_token.go``: the tokenizer, its syntax errors and ``Decoder.Position``;
- ``encoding/protojson/decode.go``: fields by JSON or proto name, unknown fields skipped,
  duplicate fields, oneofs, ``null``, scalars (quoted numbers too), the recursion limit;
- ``encoding/protojson/well_known_types.go``: ``google.protobuf.Duration`` and
  ``google.protobuf.Value`` (with ``Struct`` and ``ListValue``).

Positions are ``(line L:C)``: L counts ``\\n`` (a ``\\r`` is an ordinary character), C counts
characters (runes; each byte of invalid UTF-8 is one) from the start of the line, both from 1.
The body is decoded with ``surrogateescape``, so one character of the text is one rune of
Go's, and a message that quotes invalid bytes keeps them (``http_errors.go_json`` writes each
as ``\\ufffd``, as Go's ``encoding/json`` does). Anything protojson refuses raises
:class:`Malformed` with a ``proto: …`` message (daprd answers 400 ``ERR_MALFORMED_REQUEST``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..errors import JobslabError
from ..schedules._gotime import go_quote
from .http_errors import encode_value, format_number

UINT32_MAX = 2**32 - 1
#: protowire.DefaultRecursionLimit: how deeply messages (each Value counts) may nest.
RECURSION_LIMIT = 10_000
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
    """A protobuf ``Duration`` in JSON (``"3s"``, ``"0.5s"``, ``".5s"``, ``"+1s"``) → ns;
    :class:`Malformed` otherwise (the message without a position: a body's errors come from
    :func:`decode`)."""
    parsed = _parse_duration(text) if isinstance(text, str) else None
    if parsed is None:
        raise Malformed(f"proto: invalid google.protobuf.Duration value {json.dumps(text)}")
    secs, nanos = parsed
    if abs(secs) > _MAX_DURATION_S:
        raise Malformed(f"proto: google.protobuf.Duration value out of range: {json.dumps(text)}")
    return secs * 1_000_000_000 + nanos


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


def _parse_duration(text: str) -> tuple[int, int] | None:
    """protojson ``parseDuration`` (well_known_types.go), on the UTF-8 bytes as Go does:
    ``(seconds, nanos)`` with the sign on both, or None. Accepts ``1s``, ``0.1s``, ``1.s``,
    ``.1s``, ``+1s``, ``-1s``, ``-.1s``; at most 9 fraction digits; the range is checked by
    the caller."""
    b = text.encode("utf-8", "surrogateescape")
    if len(b) < 2 or b[-1:] != b"s":
        return None
    b = b[:-1]
    neg = b[:1] == b"-"
    if b[:1] in (b"-", b"+"):
        b = b[1:]
    if not b:
        return None
    m = re.fullmatch(rb"(0|[1-9][0-9]*|)(?:\.([0-9]{0,9}))?", b)  # b is not empty
    if m is None:
        return None
    intp, frac = m.group(1), m.group(2)
    secs = int(intp) if intp else 0
    if secs > 2**63 - 1:  # strconv.ParseInt(intp, 10, 64)
        return None
    nanos = int(frac.ljust(9, b"0")) if frac is not None else 0
    return (-secs, -nanos) if neg else (secs, nanos)


# --- protobuf-go v1.36.11 internal/encoding/json: the tokenizer ---------------------------

# Token kinds: the bit values of decode_token.go (``comma`` is internal to the tokenizer).
_EOF, _NULL, _BOOL, _NUMBER, _STRING, _NAME = 1, 2, 4, 8, 16, 32
_OBJ_OPEN, _OBJ_CLOSE, _ARR_OPEN, _ARR_CLOSE, _COMMA = 64, 128, 256, 512, 1024
_SCALAR = _NULL | _BOOL | _NUMBER | _STRING
_READ, _PEEK = 0, 1

_SPACE = re.compile(r"[ \n\r\t]*")
#: decode.go ``errRegexp``: what an "invalid value" error quotes (``.`` is any rune but \n).
_ERR_WORD = re.compile(r"[-+._a-zA-Z0-9]{1,32}|[^\n]")
_NOT_DELIM = frozenset("-+._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
#: Inside a string, what ends a plain run: a quote, a backslash, a control character, or a
#: byte of invalid UTF-8 (a lone surrogate after ``surrogateescape``).
_STRING_STOP = re.compile('["\\\\\x00-\x1f\udc80-\udcff]')
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n",
                   "r": "\r", "t": "\t"}
_RUNE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "\v": "\\v"}
#: Go's unicode.IsSpace (strings.TrimSpace), which Python's str.strip does not match.
_GO_SPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
             "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_UNEXPECTED_EOF = "proto: unexpected EOF"  # json.ErrUnexpectedEOF: no position


@dataclass
class _Token:
    kind: int
    pos: int
    raw: str
    value: Any = None  # the parsed string of a String or Name, the bool of a Bool


def _is_escaped_byte(ch: str) -> bool:
    return "\udc80" <= ch <= "\udcff"


def _go_quote_bytes(raw: bytes) -> str:
    """Go's ``%q`` of a byte slice: ``strconv.Quote``, invalid bytes as ``\\xNN``."""
    parts = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        parts.append(f"\\x{ord(ch) - 0xDC00:02x}" if _is_escaped_byte(ch) else go_quote(ch)[1:-1])
    return '"' + "".join(parts) + '"'


def _go_quote_rune(ch: str) -> str:
    """Go's ``%q`` of a rune below U+0020 (``strconv.QuoteRune``): ``'\\t'``, ``'\\x00'``."""
    return "'" + _RUNE_ESCAPES.get(ch, f"\\x{ord(ch):02x}") + "'"


def _first_byte_as_rune(ch: str) -> str:
    """Go's ``string(c)`` of the first byte of ``ch``: that byte as a code point."""
    if _is_escaped_byte(ch):
        return chr(ord(ch) - 0xDC00)
    return chr(ch.encode("utf-8")[0])


def _number_length(text: str, i: int) -> int:
    """decode_number.go ``parseNumber``: the length of the number at ``i``, or 0."""
    n, end = i, len(text)
    if n < end and text[n] == "-":
        n += 1
    if n >= end:
        return 0
    if text[n] == "0":
        n += 1
    elif "1" <= text[n] <= "9":
        n += 1
        while n < end and "0" <= text[n] <= "9":
            n += 1
    else:
        return 0
    if n + 1 < end and text[n] == "." and "0" <= text[n + 1] <= "9":
        n += 2
        while n < end and "0" <= text[n] <= "9":
            n += 1
    if n + 1 < end and text[n] in "eE":  # an exponent needs two bytes left, then [+-]?[0-9]*
        n += 1
        if text[n] in "+-":
            n += 1
            if n >= end:
                return 0
        while n < end and "0" <= text[n] <= "9":
            n += 1
    if n < end and text[n] in _NOT_DELIM:
        return 0
    return n - i


def _int_string(raw: str) -> str | None:
    """decode_number.go ``parseNumberParts`` + ``normalizeToIntString``: the integer a number
    token denotes, in plain digits, or None when it is not an integer."""
    m = re.fullmatch(r"(-?)(?:0|([1-9][0-9]*))(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]*))?", raw)
    if m is None:  # e.g. "1E+": the tokenizer took it, parseNumberParts does not
        return None
    neg, intp, frac, exp_text = m.group(1), m.group(2) or "", (m.group(3) or "").rstrip("0"), \
        m.group(4)
    if not intp and not frac:
        return "0"
    exp = 0
    if exp_text:
        if not re.fullmatch(r"[+-]?[0-9]+", exp_text):
            return None
        exp = int(exp_text)
        if not -(2**31) <= exp < 2**31:
            return None
    if exp >= 0:
        if len(frac) > exp or len(intp) + exp > 20:
            return None
        num = intp + frac + "0" * (exp - len(frac))
    else:
        index = len(intp) + exp
        if frac or index < 0 or intp[index:].strip("0"):
            return None
        num = intp[:index]
    return neg + num


class _Tokens:
    """``internal/encoding/json.Decoder``: ``read``/``peek`` with the same sequence checks,
    errors and positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.last = _Token(0, 0, "")
        self.last_call = _READ
        self.last_err: Malformed | None = None
        self.open: list[int] = []

    # positions and errors

    def position(self, pos: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - self.text.rfind("\n", 0, pos)

    def syntax_error(self, pos: int, msg: str) -> Malformed:
        line, col = self.position(pos)
        return Malformed(f"proto: syntax error (line {line}:{col}): {msg}")

    def new_error(self, pos: int, msg: str) -> Malformed:
        """protojson ``decoder.newError``."""
        line, col = self.position(pos)
        return Malformed(f"proto: (line {line}:{col}): {msg}")

    def unexpected(self, tok: _Token) -> Malformed:
        return self.syntax_error(tok.pos, f"unexpected token {tok.raw}")

    # reading

    def peek(self) -> _Token:
        """The next token without consuming it; on an error a token of kind 0 (the error
        comes back from the next :meth:`read`)."""
        if self.last_call == _READ:
            try:
                self.last, self.last_err = self._read(), None
            except Malformed as exc:
                self.last, self.last_err = _Token(0, 0, ""), exc
        self.last_call = _PEEK
        return self.last

    def peek_or_raise(self) -> _Token:
        """``Peek`` where its error is returned at once."""
        tok = self.peek()
        if self.last_err is not None:
            raise self.last_err
        return tok

    def read(self) -> _Token:
        if self.last_call == _PEEK:
            self.last_call = _READ
            if self.last_err is not None:
                raise self.last_err
            return self.last
        return self._read()

    def _value_next(self) -> bool:
        if not self.open:
            return self.last.kind == 0
        if self.open[-1] == _OBJ_OPEN:
            return bool(self.last.kind & _NAME)
        return bool(self.last.kind & (_ARR_OPEN | _COMMA))

    def _read(self) -> _Token:
        while True:
            tok = self._next()
            kind = tok.kind
            if kind == _EOF:
                if self.open:
                    raise Malformed(_UNEXPECTED_EOF)
            elif kind in (_NULL, _BOOL, _NUMBER):
                if not self._value_next():
                    raise self.unexpected(tok)
            elif kind == _STRING:
                if not self._value_next():
                    if not self.last.kind & (_OBJ_OPEN | _COMMA):
                        raise self.unexpected(tok)
                    if self.i >= len(self.text):
                        raise Malformed(_UNEXPECTED_EOF)
                    ch = self.text[self.i]
                    if ch != ":":
                        raise self.syntax_error(self.i, f"unexpected character "
                                                f"{_first_byte_as_rune(ch)}, missing \":\" "
                                                "after field name")
                    tok.kind = _NAME
                    self._consume(1)
            elif kind in (_OBJ_OPEN, _ARR_OPEN):
                if not self._value_next():
                    raise self.unexpected(tok)
                self.open.append(kind)
            elif kind == _OBJ_CLOSE:
                if (not self.open or self.last.kind & (_NAME | _COMMA)
                        or self.open[-1] != _OBJ_OPEN):
                    raise self.unexpected(tok)
                self.open.pop()
            elif kind == _ARR_CLOSE:
                if not self.open or self.last.kind == _COMMA or self.open[-1] != _ARR_OPEN:
                    raise self.unexpected(tok)
                self.open.pop()
            elif kind == _COMMA and (not self.open or not self.last.kind
                                     & (_SCALAR | _OBJ_CLOSE | _ARR_CLOSE)):
                raise self.unexpected(tok)
            self.last = tok
            if kind != _COMMA:
                return tok

    def _consume(self, n: int) -> None:
        self.i = _SPACE.match(self.text, self.i + n).end()

    def _token(self, kind: int, size: int, value: Any = None) -> _Token:
        tok = _Token(kind, self.i, self.text[self.i:self.i + size], value)
        self._consume(size)
        return tok

    def _next(self) -> _Token:
        """decode.go ``parseNext``."""
        self._consume(0)
        text, i = self.text, self.i
        if i >= len(text):
            return self._token(_EOF, 0)
        ch = text[i]
        if ch in "ntf":
            for word, kind, value in (("null", _NULL, None), ("true", _BOOL, True),
                                      ("false", _BOOL, False)):
                if (text.startswith(word, i)
                        and not (i + len(word) < len(text) and text[i + len(word)] in _NOT_DELIM)):
                    return self._token(kind, len(word), value)
        elif ch == "-" or "0" <= ch <= "9":
            n = _number_length(text, i)
            if n:
                return self._token(_NUMBER, n)
        elif ch == '"':
            value, n = self._string(i)
            return self._token(_STRING, n, value)
        elif ch in "{}[],":
            return self._token({"{": _OBJ_OPEN, "}": _OBJ_CLOSE, "[": _ARR_OPEN,
                                "]": _ARR_CLOSE, ",": _COMMA}[ch], 1)
        word = _ERR_WORD.match(text, i)
        raise self.syntax_error(i, f"invalid value {word.group() if word else ''}")

    def _bytes_at(self, j: int, n: int) -> bytes:
        """Up to ``n`` bytes of the body from character ``j`` (Go slices bytes)."""
        return self.text[j:j + n].encode("utf-8", "surrogateescape")[:n]

    def _string(self, start: int) -> tuple[str, int]:
        """decode_string.go ``parseString``: (value, length in characters). Every error is
        reported at the opening quote."""
        text, out, j = self.text, [], start + 1
        while True:
            m = _STRING_STOP.search(text, j)
            if m is None:
                raise Malformed(_UNEXPECTED_EOF)
            out.append(text[j:m.start()])
            j = m.start()
            ch = text[j]
            if _is_escaped_byte(ch):
                raise self.syntax_error(start, "invalid UTF-8 in string")
            if ch < " ":
                raise self.syntax_error(start, f"invalid character {_go_quote_rune(ch)} "
                                        "in string")
            if ch == '"':
                return "".join(out), j + 1 - start
            # a backslash
            if j + 1 >= len(text):
                raise Malformed(_UNEXPECTED_EOF)
            esc = text[j + 1]
            if esc in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[esc])
                j += 2
                continue
            if esc != "u":
                raise self.syntax_error(start, f"invalid escape code "
                                        f"{_go_quote_bytes(self._bytes_at(j, 2))} in string")
            first = self._bytes_at(j, 6)
            if len(first) < 6:
                raise Malformed(_UNEXPECTED_EOF)
            if not _HEX4.fullmatch(first[2:]):
                raise self.syntax_error(start, f"invalid escape code {_go_quote_bytes(first)} "
                                        "in string")
            j += 6
            rune = int(first[2:], 16)
            if 0xD800 <= rune <= 0xDFFF:
                second = self._bytes_at(j, 6)
                if len(second) < 6:
                    raise Malformed(_UNEXPECTED_EOF)
                low = int(second[2:], 16) if _HEX4.fullmatch(second[2:]) else None
                if (second[:2] != b"\\u" or low is None or not rune < 0xDC00
                        or not 0xDC00 <= low <= 0xDFFF):
                    raise self.syntax_error(start, f"invalid escape code "
                                            f"{_go_quote_bytes(second)} in string")
                rune = 0x10000 + ((rune - 0xD800) << 10) + (low - 0xDC00)
                j += 6
            out.append(chr(rune))


# --- protobuf-go v1.36.11 encoding/protojson: the messages of a POST body ------------------


@dataclass(frozen=True)
class _Field:
    number: int
    json_name: str
    proto_name: str
    kind: str  # "string" | "uint32" | "bool" | "message"
    message: str | None = None  # the message type of a message field
    oneof: str | None = None  # a real oneof (proto3 optional fields cannot repeat anyway)


_MESSAGES: dict[str, tuple[_Field, ...]] = {
    # dapr/dapr v1.18.3 dapr/proto/internals/v1/jobs.proto (as linked into daprd 1.18.3)
    "dapr.proto.internals.v1.JobHTTPRequest": (
        _Field(1, "name", "name", "string"),
        _Field(2, "schedule", "schedule", "string"),
        _Field(3, "repeats", "repeats", "uint32"),
        _Field(4, "dueTime", "due_time", "string"),
        _Field(5, "ttl", "ttl", "string"),
        _Field(6, "data", "data", "message", "google.protobuf.Value"),
        _Field(7, "overwrite", "overwrite", "bool"),
        _Field(8, "failurePolicy", "failure_policy", "message",
               "dapr.proto.common.v1.JobFailurePolicy"),
    ),
    # dapr/dapr v1.18.3 dapr/proto/common/v1/common.proto
    "dapr.proto.common.v1.JobFailurePolicy": (
        _Field(1, "drop", "drop", "message", "dapr.proto.common.v1.JobFailurePolicyDrop",
               "dapr.proto.common.v1.JobFailurePolicy.policy"),
        _Field(2, "constant", "constant", "message",
               "dapr.proto.common.v1.JobFailurePolicyConstant",
               "dapr.proto.common.v1.JobFailurePolicy.policy"),
    ),
    "dapr.proto.common.v1.JobFailurePolicyDrop": (),
    "dapr.proto.common.v1.JobFailurePolicyConstant": (
        _Field(1, "interval", "interval", "message", "google.protobuf.Duration"),
        _Field(2, "maxRetries", "max_retries", "uint32"),
    ),
}
_VALUE = "google.protobuf.Value"
_DURATION = "google.protobuf.Duration"


class _Decoder(_Tokens):
    """protojson ``decoder``. ``limit`` is ``RecursionLimit`` as each call sees it."""

    def message(self, name: str, limit: int) -> Any:
        """``unmarshalMessage``: a dict of the fields set (by JSON name); the Duration in ns;
        the Value as its protojson text."""
        limit -= 1
        if limit < 0:
            raise Malformed("proto: exceeded max recursion depth")
        if name == _DURATION:
            return self._duration()
        if name == _VALUE:
            return self._value(limit)
        tok = self.read()
        if tok.kind != _OBJ_OPEN:
            raise self.unexpected(tok)
        fields = _MESSAGES[name]
        out: dict[str, Any] = {}
        seen: set[int] = set()
        seen_oneofs: set[str] = set()
        while True:
            tok = self.read()
            if tok.kind == _OBJ_CLOSE:
                return out
            if tok.kind != _NAME:
                raise self.unexpected(tok)
            key: str = tok.value
            fd = None
            if not (key.startswith("[") and key.endswith("]")):  # "[ext]": an extension
                fd = (next((f for f in fields if f.json_name == key), None)
                      or next((f for f in fields if f.proto_name == key), None))
            if fd is None:  # DiscardUnknown
                self._skip(limit)
                continue
            if fd.number in seen:
                raise self.new_error(tok.pos, f"duplicate field {tok.raw}")
            seen.add(fd.number)
            if self.peek().kind == _NULL and fd.message != _VALUE:
                self.read()
                continue
            if fd.oneof is not None:
                if fd.oneof in seen_oneofs:
                    raise self.new_error(tok.pos, f"error parsing {tok.raw}, oneof {fd.oneof} "
                                         "is already set")
                seen_oneofs.add(fd.oneof)
            if fd.message is not None:
                out[fd.json_name] = self.message(fd.message, limit)
            else:
                out[fd.json_name] = self._scalar(fd)

    def _scalar(self, fd: _Field) -> Any:
        """``unmarshalScalar`` for the kinds a POST body has."""
        tok = self.read()
        if fd.kind == "string" and tok.kind == _STRING:
            return tok.value
        if fd.kind == "bool" and tok.kind == _BOOL:
            return tok.value
        if fd.kind == "uint32":
            number = _uint32(tok)
            if number is not None:
                return number
        raise self.new_error(tok.pos, f"invalid value for {fd.kind} field {fd.json_name}: "
                             f"{tok.raw}")

    def _skip(self, limit: int) -> None:
        """``skipJSONValue``: the value of an unknown field."""
        tok = self.peek()
        if tok.kind in (_OBJ_OPEN, _ARR_OPEN) and self._fast(tok, _SKIP_SCAN, bool) is not None:
            return
        depth = 0
        while True:
            tok = self.read()
            if tok.kind in (_OBJ_CLOSE, _ARR_CLOSE):
                depth -= 1
            elif tok.kind in (_OBJ_OPEN, _ARR_OPEN):
                depth += 1
                if depth > limit:
                    raise Malformed("proto: exceeded max recursion depth")
            elif tok.kind == _EOF:
                raise Malformed("proto: unexpected EOF")
            if depth == 0:
                return

    def _fast(self, tok: _Token, scan: Any, finish: Any) -> Any:
        """Read the object or array that ``tok`` (just peeked) opens with Python's C scanner,
        when that gives what the port would: ``finish(value)``, with the tokenizer standing
        after it as Go's would; None to take the slow path, which finds the exact error if
        there is one. Only containers: inside one, Python's grammar, white space and delimiters are
        JSON's, as Go's are; what Python takes and Go refuses (NaN, duplicate keys in data,
        numbers beyond float64 in data, lone surrogates, invalid UTF-8) sends it to the slow
        path, and so does nesting too deep for Python."""
        try:
            value, end = scan(self.text, tok.pos)
            if _RISKY.search(self.text, tok.pos, end):
                return None
            result = finish(value)
        except (_Fallback, ValueError, StopIteration, RecursionError):
            return None
        self.open.pop()  # pushed by the peek
        self.i = end
        self._consume(0)
        self.last = _Token(_OBJ_CLOSE if tok.kind == _OBJ_OPEN else _ARR_CLOSE, end - 1,
                           self.text[end - 1])
        self.last_call, self.last_err = _READ, None
        return result

    def _duration(self) -> int:
        """``unmarshalDuration``: nanoseconds."""
        tok = self.read()
        if tok.kind != _STRING:
            raise self.unexpected(tok)
        parsed = _parse_duration(tok.value)
        if parsed is None:
            raise self.new_error(tok.pos, f"invalid {_DURATION} value {tok.raw}")
        secs, nanos = parsed
        if abs(secs) > _MAX_DURATION_S:
            raise self.new_error(tok.pos, f"{_DURATION} value out of range: {tok.raw}")
        return secs * 1_000_000_000 + nanos

    def _value(self, limit: int) -> str:
        """``unmarshalKnownValue`` (with ``unmarshalStruct``/``unmarshalListValue`` for
        objects and arrays), without recursion: the Value's protojson text — compact, object
        keys sorted, numbers as float64."""
        stack: list[_Frame] = []
        while True:
            # one Value, whose own limit check has passed
            tok = self.peek_or_raise()
            kind = tok.kind
            if not stack and kind in (_OBJ_OPEN, _ARR_OPEN):
                fast = self._fast(tok, _DATA_SCAN, encode_value)
                if fast is not None:
                    return fast
            text: str | None = None
            if kind == _NULL:
                self.read()
                text = "null"
            elif kind == _BOOL:
                text = "true" if self.read().value else "false"
            elif kind == _NUMBER:
                self.read()
                number = float(tok.raw) if _FLOAT.fullmatch(tok.raw) else None
                if number is None or number in (float("inf"), float("-inf")):
                    raise self.new_error(tok.pos, f"invalid {_VALUE}: {tok.raw}")
                text = format_number(number)
            elif kind == _STRING:
                text = json.dumps(self.read().value, ensure_ascii=False)
            elif kind in (_OBJ_OPEN, _ARR_OPEN):
                self.read()
                stack.append(_Frame(kind == _OBJ_OPEN, limit))
            else:
                raise self.new_error(tok.pos, f"invalid {_VALUE}: {tok.raw}")
            # hand finished values up; stop at the next member or element to decode
            while True:
                if text is not None:
                    if not stack:
                        return text
                    stack[-1].add(text)
                    text = None
                frame = stack[-1]
                if frame.is_object:
                    tok = self.read()
                    if tok.kind == _OBJ_CLOSE:
                        stack.pop()
                        text = frame.render()
                        continue
                    if tok.kind != _NAME:
                        raise self.unexpected(tok)
                    if tok.value in frame.keys:
                        raise self.new_error(tok.pos, f"duplicate map key {tok.raw}")
                    frame.key = tok.value
                    frame.keys.add(tok.value)
                else:
                    if self.peek_or_raise().kind == _ARR_CLOSE:
                        self.read()
                        stack.pop()
                        text = frame.render()
                        continue
                limit = frame.limit - 1  # the member is a Value message of its own
                if limit < 0:
                    raise Malformed("proto: exceeded max recursion depth")
                break


#: What strconv.ParseFloat accepts of the number tokens the tokenizer lets through.
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass
class _Frame:
    """An object (a Struct's map) or an array (a ListValue) being decoded."""

    is_object: bool
    limit: int
    key: str = ""
    keys: set[str] = field(default_factory=set)
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.items.append((self.key, text))

    def render(self) -> str:
        if not self.is_object:
            return "[" + ",".join(text for _, text in self.items) + "]"
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + v
                              for k, v in sorted(self.items)) + "}"


class _Fallback(Exception):
    """The fast path cannot vouch for this value."""


def _refuse(_: str) -> Any:
    raise _Fallback


def _data_number(raw: str) -> float:
    number = float(raw)
    if number in (float("inf"), float("-inf")):
        raise _Fallback
    return number


def _data_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Fallback
    return value


#: Strings with a lone surrogate escape or a byte of invalid UTF-8 (false alarms only cost
#: the slow path).
_RISKY = re.compile("[\ud800-\udfff]|\\\\u[dD][89abcdefABCDEF]")
_DATA_SCAN = json.JSONDecoder(object_pairs_hook=_data_object, parse_float=_data_number,
                              parse_int=_data_number, parse_constant=_refuse,
                              strict=True).scan_once
_SKIP_SCAN = json.JSONDecoder(object_pairs_hook=list, parse_float=len, parse_int=len,
                              parse_constant=_refuse, strict=True).scan_once


def _uint32(tok: _Token) -> int | None:
    """``unmarshalUint`` with bitSize 32: a number token, or a string holding one (only its
    first token is read: ``"5 6"`` is 5), without surrounding Go white space."""
    if tok.kind == _STRING:
        s = tok.value
        if s.strip(_GO_SPACE) != s:
            return None
        try:
            tok = _Tokens(s).read()
        except Malformed:
            return None
    if tok.kind != _NUMBER:
        return None
    digits = _int_string(tok.raw)
    if digits is None or not re.fullmatch(r"[0-9]+", digits):
        return None
    number = int(digits)
    return number if number <= UINT32_MAX else None


def decode(raw: bytes) -> JobRequest:
    """Decode a POST body; raise :class:`Malformed` as protojson would."""
    if not raw:  # daprd does not decode an empty body
        return JobRequest()
    dec = _Decoder(raw.decode("utf-8", "surrogateescape"))
    body = dec.message("dapr.proto.internals.v1.JobHTTPRequest", RECURSION_LIMIT)
    tok = dec.read()
    if tok.kind != _EOF:
        raise dec.unexpected(tok)
    policy = body.get("failurePolicy")
    return JobRequest(
        schedule=body.get("schedule"),
        repeats=body.get("repeats"),
        due_time=body.get("dueTime"),
        ttl=body.get("ttl"),
        data=body.get("data"),
        overwrite=bool(body.get("overwrite")),
        failure_policy=None if policy is None else _policy(policy),
        name_in_body=bool(body.get("name")),
    )


def _policy(fields: dict[str, Any]) -> FailurePolicy | None:
    if "drop" in fields:
        return FailurePolicy("drop")
    if "constant" in fields:
        const = fields["constant"]
        return FailurePolicy("constant", const.get("interval"), const.get("maxRetries"))
    return None  # {} or only unknown fields: no policy set, the default applies


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
