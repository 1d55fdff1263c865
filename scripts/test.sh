#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite; the Label Studio tests start
# their own server on 127.0.0.1 with a temporary data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
