"""Shared fixtures. UI fixtures live in tests/ui/conftest.py."""

from __future__ import annotations
