"""Fixtures shared by the governance tests."""

from tests.governance.helpers import close_hooks, coop_db

__all__ = ["close_hooks", "coop_db"]
