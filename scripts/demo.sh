#!/usr/bin/env bash
# The main job: real ProbeCoordinator server, two headless Chromium peers, N probes, a table.
# Installs and builds what it needs first. Extra arguments go to scripts/demo.py
# (--n 20, --serve, --port 8000, --json out.json); --room N [--per-peer K --serve --csv ...]
# hands over to scripts/room.py: every pair of N peers, the room matrix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build_pkg.sh
node www/build.mjs
exec .venv/bin/python scripts/demo.py "$@"
