"""Judged search quality data (see README.md); the key under which the figures are shown."""

import pytest

# tests/test_search_quality.py stores its nDCG@10/MRR lines here; tests/conftest.py prints
# them in the terminal summary, so CI output shows them without ``-s``.
SUMMARY = pytest.StashKey[list]()
