#!/usr/bin/env bash
# Runs every fuzz target for a bounded time from its committed seeds
# (fuzz/seeds/<target>/), keeping what it finds new in fuzz/corpus/<target>/.
# A crash or a broken property stops the run with libFuzzer's reproducer in
# fuzz/artifacts/<target>/ and a non-zero exit.
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default: 20 s, every target)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  status=0
  cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    > "logs/$t.log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|SUMMARY)|==[0-9]+==ERROR|panicked|Failed" "logs/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "logs/$t.log"
    echo "fuzz: $t FAILED (exit $status); reproducer in fuzz/artifacts/$t/"
    exit 1
  fi
done
echo "fuzz: every target ran ${seconds}s without a finding"
