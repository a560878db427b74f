"""Bodies protojson refuses: daprd's exact ``ERR_MALFORMED_REQUEST`` answer, with protojson's
``(line L:C)`` position, on the stand-in and on real Dapr 1.18.3
(docs/dapr-behaviour.md#decoder-messages, docs/dapr-behaviour.md#request-body).

daprd 1.18.3 decodes a POST body with ``protojson.UnmarshalOptions{DiscardUnknown: true,
AllowPartial: true}`` from **protobuf-go v1.36.11** (google.golang.org/protobuf in dapr/dapr
v1.18.3 ``go.mod``; ``go version -m daprd`` shows the same). The rules these cases pin come from
that version:

- ``internal/encoding/json/decode.go`` ``Decoder.Position``: line = 1 + the ``\n`` before the
  offset (``\r`` is an ordinary character); column = 1 + the runes since the last ``\n`` (UTF-8
  runes, each byte of invalid UTF-8 counting as one). ``newSyntaxError`` gives "syntax error
  (line L:C): …" at the offending token; ``decode_string.go`` reports every string error at the
  string's opening quote; ``ErrUnexpectedEOF`` has no position.
- ``encoding/protojson/decode.go`` ``newError``: "(line L:C): …" at the value for "invalid value
  for <kind> field <jsonName>", at the field name for "duplicate field" and "oneof … is already
  set"; ``unexpectedTokenError`` is a syntax error; "exceeded max recursion depth" has no
  position (``protowire.DefaultRecursionLimit`` = 10000, one level per message, each Value one).
- ``encoding/protojson/well_known_types.go``: ``google.protobuf.Duration`` (``parseDuration``)
  and ``google.protobuf.Value`` (numbers through ``strconv.ParseFloat``, duplicate map keys).

Every expected answer below was recorded from daprd 1.18.3 and is compared byte for byte, but
for the one character after ``proto:``, which protobuf-go picks per binary (a space or U+00A0,
``internal/errors/errors.go``, ``internal/detrand``): the linux/amd64 daprd 1.18.3 of
``dapr init --slim`` writes a space, as the stand-in does.
"""

from __future__ import annotations

import itertools

import httpx
import pytest

from support.stacks import RecordingApp, Sidecar, Stack

pytestmark = pytest.mark.slow  # real processes and real HTTP

_names = itertools.count()
PREFIX = (b'{"errorCode":"ERR_MALFORMED_REQUEST","message":"failed deserializing HTTP body: '
          b"proto: ")


@pytest.fixture
def http(shared: tuple[Stack, Sidecar, RecordingApp]) -> httpx.Client:
    with shared[1].client() as client:
        yield client


def fresh() -> str:
    return f"malformed-{next(_names)}"


def answer(resp: httpx.Response) -> tuple[int, bytes]:
    """Status and body, with protobuf-go's per-binary U+00A0 after ``proto:`` made a space."""
    return resp.status_code, resp.content.replace("proto:\u00a0".encode(), b"proto: ", 1)


#: (body, the JSON-escaped message after "proto: ", as daprd 1.18.3 wrote it)
CASES = [
    # failurePolicy.constant.interval is a Duration: decimal seconds and "s", nothing else
    (b'{"dueTime":"1s","failurePolicy":{"constant":{"interval":"500ms"}}}',
     b'(line 1:57): invalid google.protobuf.Duration value \\"500ms\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "2m"}}}',
     b'(line 1:62): invalid google.protobuf.Duration value \\"2m\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "200ms"}}}',
     b'(line 1:62): invalid google.protobuf.Duration value \\"200ms\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "1.0000000001s"}}}',
     b'(line 1:62): invalid google.protobuf.Duration value \\"1.0000000001s\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "315576000001s"}}}',
     b'(line 1:62): google.protobuf.Duration value out of range: \\"315576000001s\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "\\u0035s0"}}}',
     b'(line 1:62): invalid google.protobuf.Duration value \\"\\\\u0035s0\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"interval": 5}}}',
     b'syntax error (line 1:62): unexpected token 5'),
    # wrong types
    (b'{"schedule": 5}',
     b'(line 1:14): invalid value for string field schedule: 5'),
    (b'{"dueTime": true}',
     b'(line 1:13): invalid value for string field dueTime: true'),
    (b'{"dueTime": "1s", "ttl": ["2s"]}',
     b'(line 1:26): invalid value for string field ttl: ['),
    (b'{"name": 5, "dueTime": "1s"}',
     b'(line 1:10): invalid value for string field name: 5'),
    (b'{"overwrite": "yes", "dueTime": "1s"}',
     b'(line 1:15): invalid value for bool field overwrite: \\"yes\\"'),
    (b'{"dueTime": "1s", "failurePolicy": "drop"}',
     b'syntax error (line 1:36): unexpected token \\"drop\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"drop": 1}}',
     b'syntax error (line 1:45): unexpected token 1'),
    # repeats
    (b'{"repeats": -1, "dueTime": "1s"}',
     b'(line 1:13): invalid value for uint32 field repeats: -1'),
    (b'{"repeats": 1.5, "dueTime": "1s"}',
     b'(line 1:13): invalid value for uint32 field repeats: 1.5'),
    (b'{"dueTime": "1s", "repeats": 4294967296}',
     b'(line 1:30): invalid value for uint32 field repeats: 4294967296'),
    (b'{"dueTime": "1s", "repeats": "x"}',
     b'(line 1:30): invalid value for uint32 field repeats: \\"x\\"'),
    (b'{"dueTime": "1s", "repeats": " 5"}',
     b'(line 1:30): invalid value for uint32 field repeats: \\" 5\\"'),
    (b'{"dueTime": "1s", "repeats": 1E+}',
     b'(line 1:30): invalid value for uint32 field repeats: 1E+'),
    (b'{"dueTime": "1s", "failurePolicy": {"constant": {"maxRetries": -2}}}',
     b'(line 1:64): invalid value for uint32 field maxRetries: -2'),
    # duplicates and oneof
    (b'{"dueTime": "1s", "due_time": "2s"}',
     b'(line 1:19): duplicate field \\"due_time\\"'),
    (b'{"dueTime": null, "dueTime": "2s"}',
     b'(line 1:19): duplicate field \\"dueTime\\"'),
    (b'{"dueTime": "1s", "failurePolicy": {"drop": {}, "constant": {}}}',
     b'(line 1:49): error parsing \\"constant\\", oneof '
     b'dapr.proto.common.v1.JobFailurePolicy.policy is already set'),
    (b'{"dueTime": "1s", "data": {"a": 1, "\\u0061": 2}}',
     b'(line 1:36): duplicate map key \\"\\\\u0061\\"'),
    # syntax
    (b'[{}]',
     b'syntax error (line 1:1): unexpected token ['),
    (b'not json',
     b'syntax error (line 1:1): invalid value not'),
    (b'  ',
     b'syntax error (line 1:3): unexpected token '),
    (b'{',
     b'unexpected EOF'),
    (b'{"dueTime": "1s",}',
     b'syntax error (line 1:18): unexpected token }'),
    (b'{"dueTime" "1s"}',
     b'syntax error (line 1:12): unexpected character \\", missing \\":\\" after field name'),
    (b'{"dueTime": "1s" "ttl": "2s"}',
     b'syntax error (line 1:18): unexpected token \\"ttl\\"'),
    (b'{"dueTime": "1s", "data": NaN}',
     b'syntax error (line 1:27): invalid value NaN'),
    (b'{"dueTime": "1s", "data": [1, 2,, 3]}',
     b'syntax error (line 1:33): unexpected token ,'),
    (b'{"dueTime": "a\\x"}',
     b'syntax error (line 1:13): invalid escape code \\"\\\\\\\\x\\" in string'),
    (b'{"dueTime": "a\\ud800\\u0041"}',
     b'syntax error (line 1:13): invalid escape code \\"\\\\\\\\u0041\\" in string'),
    (b'{"dueTime": "a\tb"}',
     b"syntax error (line 1:13): invalid character '\\\\t' in string"),
    (b'{"dueTime": "1s", "data": 1e400}',
     b'(line 1:27): invalid google.protobuf.Value: 1e400'),
    # trailing data
    (b'{"dueTime": "1s"} {}',
     b'syntax error (line 1:19): unexpected token {'),
    (b'{"dueTime": "1s"}x',
     b'syntax error (line 1:18): invalid value x'),
    (b'{"dueTime": "1s"}\n\n  ]',
     b'syntax error (line 3:3): unexpected token ]'),
    # unknown fields: skipped, but their JSON must parse
    (b'{"dueTime": "1s", "unknown": {"a": [1, {"b": "c"}], "d": [}}',
     b'syntax error (line 1:59): unexpected token }'),
    (b'{"dueTime": "1s", "unknown": {"a": [1]}, "repeats": -1}',
     b'(line 1:53): invalid value for uint32 field repeats: -1'),
    # nested
    (b'{"dueTime": "1s", "data": {"a": {"b": [1, {"c": 1, "c": 2}]}}}',
     b'(line 1:52): duplicate map key \\"c\\"'),
    (b'{"dueTime": "1s", "data": {"a": {"b": {"c": {"d": tru}}}}}',
     b'syntax error (line 1:51): invalid value tru'),
    # multi-line bodies and non-ASCII text before the error: lines count \n only, columns
    # count characters (runes), not bytes
    (b'{\n  "dueTime": "1s",\n  "failurePolicy": {\n    "constant": {\n'
     b'      "interval": "500ms"\n    }\n  }\n}',
     b'(line 5:19): invalid google.protobuf.Duration value \\"500ms\\"'),
    (b'{\r\n  "dueTime": "1s",\r\n  "failurePolicy": {"constant": {"interval": "500ms"}}\r\n}',
     b'(line 3:46): invalid google.protobuf.Duration value \\"500ms\\"'),
    ('{"data": "ééé", "dueTime": "1s", "failurePolicy": {"constant": {"interval": "500ms"}}}'
     .encode(),
     b'(line 1:77): invalid google.protobuf.Duration value \\"500ms\\"'),
    ('{"é€😀": 1,\n"日本": "😀", "dueTime": "1s", "repeats": "😀"}'.encode(),
     '(line 2:40): invalid value for uint32 field repeats: \\"😀\\"'.encode()),
    ('{"data": [\n\n\n"😀😀", \n  😀]}'.encode(),
     "syntax error (line 5:3): invalid value 😀".encode()),
    ('{"dueTime": "1s", "failurePolicy": {"constant": {"interval": "<é>"}}}'.encode(),
     '(line 1:62): invalid google.protobuf.Duration value \\"\\u003cé\\u003e\\"'.encode()),
    # invalid UTF-8: a string error is at its quote; elsewhere the byte is quoted, and Go's
    # encoding/json writes it as \ufffd; `unexpected character` shows the byte as a code point
    (b'{"x": 1, \n"\xff": 2}',
     b'syntax error (line 2:1): invalid UTF-8 in string'),
    (b'{"dueTime": "1s", \xff}',
     b'syntax error (line 1:19): invalid value \\ufffd'),
    ('{"a"é:1}'.encode(),
     'syntax error (line 1:5): unexpected character Ã, missing \\":\\" after field name'.encode()),
]


@pytest.mark.parametrize(("body", "message"), CASES)
@pytest.mark.parametrize("version", ["v1.0", "v1.0-alpha1"])
def test_malformed_body_is_daprds_exact_message(http: httpx.Client, version: str, body: bytes,
                                                message: bytes) -> None:
    """400 ERR_MALFORMED_REQUEST, no details, protojson's message with its position."""
    r = http.post(f"/{version}/jobs/{fresh()}", content=body)
    assert answer(r) == (400, PREFIX + message + b'"}')
    assert r.headers["content-type"] == "application/json"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(("body", "message"), [
    # data: JobHTTPRequest is level 1, the data Value level 2, each array inside one more
    (b'{"dueTime": "1h", "data": ' + nested(9999) + b"}", None),
    (b'{"dueTime": "1h", "data": ' + nested(10000) + b"}", b"exceeded max recursion depth"),
    # an unknown field's value is skipped, but only up to the same limit
    (b'{"dueTime": "1h", "x": ' + nested(9999) + b"}", None),
    (b'{"dueTime": "1h", "x": ' + nested(10000) + b"}", b"exceeded max recursion depth"),
    (b'{"dueTime": "1h", "failurePolicy": {"drop": {"x": ' + nested(9997) + b"}}}", None),
    (b'{"dueTime": "1h", "failurePolicy": {"drop": {"x": ' + nested(9998) + b"}}}",
     b"exceeded max recursion depth"),
], ids=["data-9999", "data-10000", "unknown-9999", "unknown-10000", "drop-9997", "drop-9998"])
def test_nesting_beyond_the_recursion_limit_is_malformed(http: httpx.Client, body: bytes,
                                                         message: bytes | None) -> None:
    """protowire.DefaultRecursionLimit (10000), counted per message; no position."""
    name = fresh()
    r = http.post(f"/v1.0/jobs/{name}", content=body)
    http.delete(f"/v1.0/jobs/{name}")
    assert answer(r) == ((204, b"") if message is None else (400, PREFIX + message + b'"}'))


@pytest.mark.parametrize(("body", "shown"), [
    # a quoted number is read by a fresh tokenizer, which stops after its first token
    (b'{"schedule": "@every 1h", "repeats": "5 6"}', {"repeats": 5}),
    (b'{"schedule": "@every 1h", "repeats": "2,"}', {"repeats": 2}),
    # "1e" is a number token; parseNumberParts drops the bare exponent
    (b'{"schedule": "@every 1h", "repeats": 1e}', {"repeats": 1}),
    (b'{"schedule": "@every 1h", "repeats": 100e-2}', {"repeats": 1}),
    # parseDuration: optional sign, integer or fraction part, up to 9 digits
    (b'{"dueTime": "1h", "failurePolicy": {"constant": {"interval": ".5s"}}}',
     {"failurePolicy": {"constant": {"interval": "0.500s"}}}),
    (b'{"dueTime": "1h", "failurePolicy": {"constant": {"interval": "+1.s"}}}',
     {"failurePolicy": {"constant": {"interval": "1s"}}}),
    (b'{"dueTime": "1h", "failurePolicy": {"constant": {"interval": ".s"}}}',
     {"failurePolicy": {"constant": {"interval": "0s"}}}),
    (b'{"dueTime": "1h", "failurePolicy": {"constant": {"maxRetries": "7"}}}',
     {"failurePolicy": {"constant": {"maxRetries": 7}}}),
    # null skips a field (and still counts for duplicates); unknown and [extension] names
    # that resolve to nothing are skipped
    (b'{"dueTime": "1h", "failurePolicy": {"drop": {"x": 1}, "constant": null}}',
     {"failurePolicy": {"drop": {}}}),
    (b'{"dueTime": "1h", "[no.such.Extension]": 1, "@type": "x", "Schedule": 5}',
     {"dueTime": "1h"}),
], ids=["quoted-first-token", "quoted-comma", "bare-exponent", "negative-exponent",
        "fraction-only", "plus-and-dot", "dot-only", "quoted-retries", "null-oneof",
        "unknown-names"])
def test_protojson_quirks_are_accepted(http: httpx.Client, body: bytes, shown: dict) -> None:
    """Bodies a strict JSON reading would refuse or read otherwise, as protojson takes them."""
    name = fresh()
    assert http.post(f"/v1.0/jobs/{name}", content=body).status_code == 204
    got = http.get(f"/v1.0/jobs/{name}").json()
    http.delete(f"/v1.0/jobs/{name}")
    for key, value in shown.items():
        assert got[key] == value, key
