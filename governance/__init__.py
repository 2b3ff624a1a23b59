"""The rules and use-cases of a cooperative: plain Python over SQLModel sessions, never Discord."""
