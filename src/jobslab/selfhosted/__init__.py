"""The self-hosted backend: real ``daprd`` + ``scheduler`` from ``dapr init --slim``.

See :class:`SelfHostedBackend` and spec/cluster-path.md §3.
"""

from __future__ import annotations

from ._backend import SelfHostedBackend

__all__ = ["SelfHostedBackend"]
