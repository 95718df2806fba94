"""Run the signed export in a child process for the app: the same core function as `workbench export`.

The app must not open its package a second time in its own process (closing that second descriptor would
drop the process's POSIX locks on the file, see app.py), and export_package opens it; so the app runs it
here. Request on stdin as JSON {package, out, key_file, passphrase, allow_incomplete}; the result or the
refusal on stdout as JSON. No textual import.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path


def main() -> int:
    request = json.loads(sys.stdin.read())
    from workbench.errors import WorkbenchError
    from workbench.export import export_package

    try:
        result = export_package(
            Path(request["package"]), Path(request["out"]),
            key_file=Path(request["key_file"]) if request.get("key_file") else None,
            passphrase=request.get("passphrase"), allow_incomplete=bool(request.get("allow_incomplete")),
        )
    except WorkbenchError as exc:
        print(json.dumps({"refused": exc.message, "code": exc.code}, ensure_ascii=False))
        return 0
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
    print(json.dumps({"result": fields}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
