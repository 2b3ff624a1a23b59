"""Fixtures shared by the governance tests."""

from tests.governance.test_decisions import close_hooks, coop_db

__all__ = ["close_hooks", "coop_db"]
