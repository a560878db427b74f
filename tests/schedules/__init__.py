"""Tests of the schedule engine (contract §2, §4)."""
