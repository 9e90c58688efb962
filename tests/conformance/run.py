#!/usr/bin/env python3
"""Runs the Autobahn cases (kosoku) against heartlink-echo and diffs the
per-case outcome against tests/conformance/expected.json.

heartlink-echo (tests/src/bin/heartlink-echo.rs) is built on the server's
real accept path and WebSocketConfig, so this checks the server's RFC 6455
transport. Exits 1 on any difference from the expected results, on a case
that fails outside the oversize set, or on an oversize case that was not
refused with close 1009. See docs/CONFORMANCE.md.

Usage: run.py ECHO_BINARY [--update] [--include GLOB]... [--reports DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import kosoku
from kosoku import FailureError, run_fuzzingclient

KOSOKU_VERSION = "0.1.0"
EXPECTED = Path(__file__).with_name("expected.json")
# Every wait is bounded: the echo's address, and the whole run (the full set
# takes ~15 s; a hung case must fail the run, not CI's 90-minute budget).
STARTUP_TIMEOUT_S = 10
RUN_TIMEOUT_S = 300
# Outcomes that mean "conformant" (Autobahn's own pass rule), plus
# UNIMPLEMENTED, which the compression cases (12.*, 13.*) earn because
# permessage-deflate is not negotiated.
ACCEPTABLE = {"OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"}


def start_echo(binary: str) -> tuple[subprocess.Popen[str], str]:
    echo = subprocess.Popen([binary], stdout=subprocess.PIPE, text=True)
    found: list[str] = []

    def read_address() -> None:
        assert echo.stdout is not None
        for line in echo.stdout:
            if line.startswith("heartlink-echo listening on "):
                found.append(line.split(" on ", 1)[1].strip())
                return

    reader = threading.Thread(target=read_address, daemon=True)
    reader.start()
    reader.join(STARTUP_TIMEOUT_S)
    if not found:
        echo.kill()
        sys.exit(f"error: {binary} did not print its address within {STARTUP_TIMEOUT_S} s")
    return echo, found[0]


async def run_cases(url: str, include: list[str] | None, exclude: list[str] | None) -> list:
    # One case at a time: the timing cases (9.7, 9.8) stay comparable and the
    # run leaves a core for whatever else CI is doing.
    run = run_fuzzingclient(url, include, exclude, concurrency=1)
    try:
        return await asyncio.wait_for(run, RUN_TIMEOUT_S)
    except FailureError as failure:
        # Raised whenever a case is not "passed"; that includes the expected
        # UNIMPLEMENTED and oversize cases, so judge the results ourselves.
        return failure.results


def summarize(result) -> dict:
    return {
        "behavior": result.behavior.value,
        "behaviorClose": result.behavior_close.value,
        "remoteCloseCode": result.remote_close_code,
    }


def is_oversize(case_id: str, oversize: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(case_id, pattern) for pattern in oversize)


def rule_violations(actual: dict[str, dict], oversize: list[str]) -> list[str]:
    """The rules of issue 4 item 1, independent of the recorded results."""
    problems = []
    for case_id, got in actual.items():
        if is_oversize(case_id, oversize):
            if got["remoteCloseCode"] != 1009:
                problems.append(f"{case_id}: sends over 64 KiB but was not refused with 1009: {got}")
        elif got["behavior"] not in ACCEPTABLE or got["behaviorClose"] not in ACCEPTABLE - {"UNIMPLEMENTED"}:
            problems.append(f"{case_id}: not conformant: {got}")
        elif got["behavior"] == "UNIMPLEMENTED" and not case_id.startswith(("12.", "13.")):
            problems.append(f"{case_id}: UNIMPLEMENTED outside the compression cases: {got}")
    return problems


def differences(expected: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    lines = []
    for case_id in expected.keys() | actual.keys():
        want, got = expected.get(case_id), actual.get(case_id)
        if want != got:
            lines.append(f"{case_id}: expected {want}, got {got}")
    return sorted(lines, key=lambda line: [int(p) for p in line.split(":")[0].split(".")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("echo", help="path of the built heartlink-echo binary")
    parser.add_argument("--update", action="store_true", help="rewrite expected.json from this run")
    parser.add_argument("--include", action="append", help="only these case ids/globs (default: all)")
    parser.add_argument("--reports", help="also write kosoku's full Autobahn reports here")
    args = parser.parse_args()

    if kosoku_version() != KOSOKU_VERSION:
        sys.exit(f"error: kosoku {KOSOKU_VERSION} is required (pip install kosoku=={KOSOKU_VERSION})")
    spec = json.loads(EXPECTED.read_text())
    echo, url = start_echo(args.echo)
    started = time.monotonic()
    try:
        results = asyncio.run(run_cases(url, args.include, None))
    finally:
        echo.kill()
        echo.wait()
    elapsed = time.monotonic() - started
    actual = {r.case_id: summarize(r) for r in results}
    if args.reports:
        from kosoku._report import write_reports

        write_reports(results, args.reports)

    problems = rule_violations(actual, spec["oversize"])
    expected = spec["cases"]
    if args.include:
        expected = {k: v for k, v in expected.items() if any(fnmatch.fnmatchcase(k, g) for g in args.include)}
    if args.update and not problems:
        spec["cases"] = actual
        EXPECTED.write_text(to_json(spec))
        print(f"updated {EXPECTED} with {len(actual)} cases")
    else:
        problems += differences(expected, actual)
    report(actual, spec["oversize"], elapsed)
    for problem in problems:
        print(f"DIFF {problem}", file=sys.stderr)
    return 1 if problems else 0


def to_json(spec: dict) -> str:
    """expected.json with one case per line, so a changed outcome is a one-line diff."""
    head = {k: v for k, v in spec.items() if k != "cases"}
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in spec["cases"].items()]
    body = json.dumps(head, indent=2)[:-2]
    return body + ',\n  "cases": {\n' + ",\n".join("  " + line for line in lines) + "\n  }\n}\n"


def kosoku_version() -> str:
    from importlib.metadata import version

    return version(kosoku.__name__)


def report(actual: dict[str, dict], oversize: list[str], elapsed: float) -> None:
    counts: dict[str, int] = {}
    for case_id, got in actual.items():
        label = "REFUSED 1009 (oversize)" if is_oversize(case_id, oversize) else got["behavior"]
        counts[label] = counts.get(label, 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    print(f"autobahn: {len(actual)} cases in {elapsed:.1f} s: {summary}")


if __name__ == "__main__":
    sys.exit(main())
