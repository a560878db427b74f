"""Tests of the schedule engine (the rules it follows: docs/dapr-behaviour.md#schedule-grammar,
docs/dapr-behaviour.md#timing)."""
