#!/usr/bin/env bash
#! Autobahn (RFC 6455) conformance of heartlink's WebSocket transport: builds
#! heartlink-echo (the server's real handshake and WebSocketConfig), installs
#! the pinned kosoku if needed, runs every Autobahn case and diffs the outcome
#! against expected.json. Fails on any difference. ~15 s after the build.
#! Extra arguments go to run.py (e.g. --update, --include '6.*', --reports DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

# Pinned: the case files and verdict rules ship inside the package, so
# another version may judge differently and the expected results would drift.
KOSOKU_VERSION=0.1.0
if [ "$(python3 -c 'from importlib.metadata import version; print(version("kosoku"))' 2>/dev/null)" != "$KOSOKU_VERSION" ]; then
  python3 -m pip install --quiet "kosoku==$KOSOKU_VERSION"
fi

# The same profile and target dir as `cargo test`, so CI reuses its build.
cargo build --quiet -p heartlink-tests --bin heartlink-echo
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 tests/conformance/run.py "$target_dir/debug/heartlink-echo" "$@"
