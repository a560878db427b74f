"""The self-hosted backend: real ``daprd`` + ``scheduler`` from ``dapr init --slim``.

See :class:`SelfHostedBackend` and docs/kind.md (self-hosted). :func:`find_binary` finds the
real binaries the way a user's are found: ``$JOBSLAB_DAPR_BIN``, ``~/.dapr/bin``, ``PATH``.
"""

from __future__ import annotations

from ._backend import ENV_BIN_DIR, SelfHostedBackend, bin_dirs, find_binary

__all__ = ["ENV_BIN_DIR", "SelfHostedBackend", "bin_dirs", "find_binary"]
