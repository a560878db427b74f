"""The one HTTP/1.1 framing rule the load generator and the no-op app need: where a message
with a ``Content-Length`` body ends. Standard library only (the no-op app imports it as a
sibling module, to start fast)."""

from __future__ import annotations


def message_end(buf: bytes) -> tuple[bytes, int] | None:
    """``(head, end)`` of the first complete message in ``buf`` (``end`` is the index after
    its body), or ``None`` while it is incomplete."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    head = buf[:i]
    low = head.lower()
    length = 0
    j = low.find(b"\r\ncontent-length:")
    if j >= 0:
        end = low.find(b"\r\n", j + 2)
        length = int(low[j + 17:end if end >= 0 else len(low)])
    if len(buf) < i + 4 + length:
        return None
    return head, i + 4 + length
