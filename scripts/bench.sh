#!/usr/bin/env bash
# Side-by-side benchmark: legacy JS client pair vs our pair through the same real server,
# N probes each; prints time-to-result, RTT, failures and download size. Numbers only, no asserts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build_pkg.sh
exec .venv/bin/python bench/bench.py "$@"
