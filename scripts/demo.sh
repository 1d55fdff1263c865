#!/usr/bin/env bash
# Set up (if needed) and run the main job on the seed pages with the embedded
# Label Studio: curate -> start server -> push -> gold annotations -> pull -> release.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/contraband demo seeds "$@"
