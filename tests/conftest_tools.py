"""Find an external tool a test needs (minisign, soffice …): skip without it, or fail when tools are required."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_TOOLS_ENV = "WORKBENCH_REQUIRE_TOOLS"


def require_tool(name: str, package: str | None = None) -> str:
    """The tool's path. Missing: skip the test, unless WORKBENCH_REQUIRE_TOOLS=1 (CI), then fail.

    package names the Debian package providing it when that differs (soffice → libreoffice).
    """
    path = shutil.which(name)
    if path is not None:
        return path
    if os.environ.get(REQUIRE_TOOLS_ENV) == "1":
        pytest.fail(
            f"{name} is not on PATH but {REQUIRE_TOOLS_ENV}=1 requires it; "
            f"install it (Debian: apt-get install {package or name}) or unset {REQUIRE_TOOLS_ENV}",
            pytrace=False,
        )
    pytest.skip(f"{name} is not installed")
