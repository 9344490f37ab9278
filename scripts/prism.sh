#!/usr/bin/env bash
# Start Prism mocking Twilio's REST API v2010 spec on 127.0.0.1 (installs it into .tools if missing).
# Usage: scripts/prism.sh [port]
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-4010}"
SPEC="$(cd .. && pwd)/shared/twilio/twilio_api_v2010.json"
if [ ! -x .tools/node_modules/.bin/prism ]; then
  npm install --prefix .tools @stoplight/prism-cli@5
fi
exec .tools/node_modules/.bin/prism mock -h 127.0.0.1 -p "$PORT" "$SPEC"
