#!/usr/bin/env bash
# Runs every test of the workspace, installing first what the tests need.
# This is the README's test command; CI calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
if [ -x scripts/install-peers.sh ]; then
  scripts/install-peers.sh
fi

cargo nextest run --workspace --profile ci "$@"
