#!/usr/bin/env bash
#! Short fuzz run for CI: builds the cargo-fuzz targets on stable
#! (`--sanitizer none`) and fuzzes each for FUZZ_SECONDS (default 25) from the
#! committed seeds (fuzz/seeds/TARGET). Any crash fails the run; the crashing
#! input is left in fuzz/artifacts/TARGET/ and printed by libFuzzer. New
#! corpus entries go to a temporary dir, so the work tree stays clean.
#! Usage: fuzz/run-short.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-25}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decode_request decode_server sanitize)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

build_start=$SECONDS
cargo fuzz build --sanitizer none
echo "fuzz: built in $((SECONDS - build_start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  dict=()
  if [ "$target" != sanitize ]; then dict=(-dict=json.dict); fi
  mkdir -p "$scratch/$target"
  # -timeout: one input taking over 5 s is a hang, reported as a failure.
  # -rss_limit_mb: a decoder that balloons on a small input is a bug too.
  cargo fuzz run --sanitizer none "$target" "$scratch/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -max_len=8192 \
    -print_final_stats=1 "${dict[@]}" >"$scratch/$target.log" 2>&1 || {
    tail -n 60 "$scratch/$target.log" >&2
    echo "fuzz: $target FAILED (crash input in fuzz/artifacts/$target/)" >&2
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$target.log")
  corpus=$(find "$scratch/$target" -type f | wc -l)
  echo "fuzz: $target ok: $runs executions in $seconds s, $corpus new corpus entries"
done
