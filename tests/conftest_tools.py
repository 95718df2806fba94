"""Find an external tool a test needs (minisign, soffice …): skip without it, or fail when tools are required."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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


def convert_with_libreoffice(src: Path, outdir: Path, fmt: str = "xlsx") -> Path:
    """src converted by LibreOffice headless into outdir (fmt as --convert-to takes it: "xlsx", "csv", "pdf" …).

    One conversion at a time across processes (soffice instances share state), each with a fresh profile.
    """
    soffice = require_tool("soffice", "libreoffice-calc-nogui")
    outdir.mkdir(parents=True, exist_ok=True)
    result = outdir / f"{src.stem}.{fmt.split(':', 1)[0]}"
    if result.resolve() == src.resolve():
        raise ValueError(f"converting {src} into {outdir} would overwrite it; choose another outdir")
    with open("/tmp/workbench-soffice.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        profile = tempfile.mkdtemp(prefix="lo-profile-", dir="/tmp")
        try:
            done = subprocess.run(
                [soffice, "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", fmt,
                 "--outdir", str(outdir), str(src)],
                capture_output=True, text=True, timeout=300,
            )
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0 or not result.is_file():
        pytest.fail(f"LibreOffice did not convert {src.name} to {fmt}: {done.stdout}{done.stderr}", pytrace=False)
    return result
