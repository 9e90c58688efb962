#!/usr/bin/env bash
# The longer hardening run (docs/RELIABILITY.md): what CI runs briefly, at
# full length. About 45 minutes on 2 cores; every step must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== kill -9 test, 10 runs in a row (5 kill rounds each)"
for run in $(seq 1 10); do
  cargo test -q -p heartlink-tests --test durability kill9 -- --nocapture
  echo "kill -9 run $run passed"
done

echo "== faults: a minute of severed connections"
HEARTLINK_SOAK_SECS=60 cargo test -q -p heartlink-tests --test faults -- --nocapture

echo "== abuse figures"
cargo test -q -p heartlink-tests --test abuse_slow_consumer --test abuse_connections --test abuse_floods -- --nocapture

echo "== bounded replies, paging and per-user quotas at full size"
# Ten times the reported attacks: 800 maximal messages (80 locked a member
# out), 60,000 room creations by one user (6,000 got through), and one user
# in 6,000 rooms with the membership cap lifted.
HEARTLINK_REPLY_MESSAGES=800 HEARTLINK_PAGING_ROOMS=6000 HEARTLINK_QUOTA_FLOOD=60000 \
  cargo test -q -p heartlink-tests --test abuse_replies --test paging --test abuse_quotas \
  --test logout --test presence_scope -- --nocapture
echo "== authentication and connection floods at ten times the reported sizes"
HEARTLINK_ABUSE_LONG=1 cargo test -q -p heartlink-tests --test abuse_auth --test abuse_login_flood \
  --test abuse_connections --test abuse_log_pipe -- --nocapture --test-threads 1

echo "== model-based test, 200 random sequences"
HEARTLINK_MODEL_CASES=200 cargo test -q -p heartlink-tests --test model -- --nocapture

echo "== RFC 6455 conformance (every Autobahn case)"
bash tests/conformance/run.sh

echo "== fuzzing, 10 minutes per target"
FUZZ_SECONDS=600 bash fuzz/run-short.sh
