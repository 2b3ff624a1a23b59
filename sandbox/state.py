"""What the sandbox keeps between runs: where its files are, and ``sandbox.json`` (its time, the demo
world's ids and who holds which role).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config import PROJECT_ROOT

if TYPE_CHECKING:
    pass


log = logging.getLogger("coopbot.sandbox")

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
STATE_VERSION = 1


class SandboxError(Exception):
    """Something that stops the sandbox from starting, told to the person as it is."""


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "sandbox.db"

    @property
    def state(self) -> Path:
        return self.data_dir / "sandbox.json"

    def database_files(self) -> list[Path]:
        return [self.database.with_name(self.database.name + suffix) for suffix in ("", "-wal", "-shm")]

    def reset(self, *, keep_old: bool) -> None:
        """Forget the sandbox: delete (or, with keep_old, set aside as *.old) its database and state."""
        for path in [*self.database_files(), self.state]:
            if not path.exists():
                continue
            if keep_old:
                path.replace(path.with_name(path.name + ".old"))
            else:
                path.unlink()


@dataclass
class State:
    now: datetime
    world: dict[str, Any]
    roles_held: dict[str, list[int]]

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("version") != STATE_VERSION:
                return None
            now = datetime.fromisoformat(raw["now"])
            if now.tzinfo is None:
                return None
            return cls(
                now=now.astimezone(UTC),
                world=dict(raw["world"]),
                roles_held={str(k): [int(r) for r in v] for k, v in raw["roles_held"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, path: Path) -> None:
        payload = {
            "version": STATE_VERSION,
            "now": self.now.isoformat(),
            "world": self.world,
            "roles_held": self.roles_held,
        }
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)
