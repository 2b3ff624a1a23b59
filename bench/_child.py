"""`python -m bench._child module:function '{json params}'`: one measurement in a fresh process."""

from __future__ import annotations

import sys

from bench._common import child_main

if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
