"""tabae's version (one place; pyproject.toml carries the same string)."""

VERSION = "0.2.0"
