#!/usr/bin/env bash
# Runs every fuzz target for a bounded time with AddressSanitizer (cargo
# fuzz's default) from its committed inputs: the codec targets' seeds
# (fuzz/seeds/<target>/) and the state-machine targets' minimized corpora
# (fuzz/corpus/<target>/), keeping what it finds new in fuzz/corpus/<target>/.
# A crash or a broken invariant stops the run, prints the reproducer and
# exits non-zero; the input stays in fuzz/artifacts/<target>/.
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

# -max_len of each target: a message for the codec targets, a sequence of
# some hundred operations for the state-machine targets.
max_len() {
  case "$1" in
    session_*|assa_core) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

cargo +nightly fuzz build
mkdir -p logs
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  dirs=("corpus/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  echo "fuzz: $t for ${seconds}s"
  status=0
  cargo +nightly fuzz run "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    > "logs/$t.log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|SUMMARY)|==[0-9]+==ERROR|panicked|Failed" "logs/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "logs/$t.log"
    for crash in "artifacts/$t"/*; do
      [ -f "$crash" ] || continue
      echo "fuzz: reproducer $crash (base64):"
      base64 -w0 "$crash"; echo
    done
    echo "fuzz: $t FAILED (exit $status); replay with: cargo +nightly fuzz run $t fuzz/artifacts/$t/<file>"
    exit 1
  fi
done
echo "fuzz: every target ran ${seconds}s without a finding"
