"""Skip for a missing tool with the reason — except in CI, where every tool must be there."""

import os

import pytest


def require_tool(name: str, install: str) -> None:
    """Skip (or fail, when SYMBACKPROP_REQUIRE_TOOLS=1) because ``name`` is not installed."""
    message = f"{name} is not installed ({install})"
    if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
        pytest.fail(message + " but SYMBACKPROP_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)
