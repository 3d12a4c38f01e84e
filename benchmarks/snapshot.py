"""Byte-identity check for refactors: hash every output the demo and the tests produce.

    python benchmarks/snapshot.py -o before.json            # on the old commit
    python benchmarks/snapshot.py -o after.json --compare before.json

The demo is built with ``SOURCE_DATE_EPOCH`` fixed; the tests run with ``REPORTGEN_SNAPSHOT``
set, which makes ``tests/conftest.py`` record the SHA-256 of every HTML, JSON, Markdown, JUnit
and email output a test renders (keyed by test and call order), under a fixed ``--basetemp``
so that the file paths shown in reports are the same on both sides.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# where the outputs are built; set REPORTGEN_SNAPSHOT_WORK to run two checkouts side by side
WORK = Path(os.environ.get("REPORTGEN_SNAPSHOT_WORK", "/tmp/reportgen-snapshot"))


def demo_hashes() -> dict[str, str]:
    out = WORK / "demo"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run(
        [sys.executable, "-m", "reportgen.cli", "demo", "-o", str(out)],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return {
        f"demo/{p.relative_to(out)}": hashlib.sha256(
            p.read_bytes().replace(str(WORK).encode(), b"<work>")
        ).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in {".html", ".json", ".md", ".xml", ".eml"}
    }


def test_hashes(pytest_args: list[str]) -> dict[str, str]:
    record = WORK / "tests.jsonl"
    record.unlink(missing_ok=True)
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": "1700000000",
        "REPORTGEN_SNAPSHOT": str(record),
        "REPORTGEN_SNAPSHOT_WORK": str(WORK),
    }
    base = WORK / "pytest"
    shutil.rmtree(base, ignore_errors=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={base}",
            "-m",
            "not browser and not slow",
            *pytest_args,
        ],
        check=False,
        env=env,
        cwd=ROOT,
    )
    if done.returncode != 0:
        print(f"warning: pytest exited {done.returncode}; the record covers the tests that ran")
    found: dict[str, str] = {}
    for line in record.read_text().splitlines():
        entry = json.loads(line)
        found[entry["key"]] = entry["sha256"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier manifest to compare with")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. a test path)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    hashes = {} if args.no_demo else demo_hashes()
    hashes.update(test_hashes(args.pytest_args))
    args.output.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    print(f"{len(hashes)} outputs hashed -> {args.output}")
    if args.compare:
        old = json.loads(args.compare.read_text())
        changed = sorted(k for k in old.keys() & hashes.keys() if old[k] != hashes[k])
        missing = sorted(old.keys() - hashes.keys())
        new = sorted(hashes.keys() - old.keys())
        for key in changed:
            print(f"changed: {key}")
        for key in missing:
            print(f"missing: {key}")
        for key in new:
            print(f"new:     {key}")
        same = len(old.keys() & hashes.keys()) - len(changed)
        print(f"{same} identical, {len(changed)} changed, {len(missing)} missing, {len(new)} new")
        sys.exit(1 if changed or missing else 0)


if __name__ == "__main__":
    main()
