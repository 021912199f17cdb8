#!/usr/bin/env bash
# A whole conversation's worth of tool calls against a local Hookline, end to end, with every
# request the tools make verified by its signature.
#
#   scripts/serve --dev                                  # terminal 1: Hookline
#   examples/walkthrough.sh                              # terminal 2, with the same environment
#
# HOOKLINE_URL is where Hookline answers (default http://localhost:8080); RECEIVER_PORT is where
# this script runs the example endpoints (examples/receiver.py, default 3000). The CLI reads the
# same settings as the server (DATABASE_URL, HOOKLINE_*), so export them in both terminals.
#
# It creates an organization and a key, prints the organization's signing secret and starts the
# receiver with it, points the five example tools at the receiver, makes a persona and a session,
# then the calls an LLM would make, and shows the call log and what the receiver verified.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${HOOKLINE_URL:-http://localhost:8080}
BASE=${BASE%/}
PORT=${RECEIVER_PORT:-3000}
TARGET="http://127.0.0.1:$PORT"
# The binary scripts/serve built, when there is one; else built now, saying so (a first release
# build takes minutes).
if [ -n "${HOOKLINE_BIN:-}" ]; then
  HOOKLINE=$HOOKLINE_BIN
elif [ -x target/release/hookline ]; then
  HOOKLINE=target/release/hookline
else
  echo "no target/release/hookline yet: building it (cargo build --release; minutes the first time)" >&2
  cargo build --release --bin hookline
  HOOKLINE=target/release/hookline
fi
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if ! curl -sf "$BASE/readyz" >/dev/null; then
  echo "nothing answers at $BASE/readyz: start the server (scripts/serve --dev) or set HOOKLINE_URL" >&2
  exit 1
fi

ORG="walkthrough-$(date +%s)"
$HOOKLINE --dev orgs create "$ORG" >/dev/null
KEY=$($HOOKLINE --dev api-keys create --org "$ORG" | tail -n 1)
H="Authorization: Bearer $KEY"

# The organization's signing secret: every webhook request is signed with it (Standard Webhooks).
SECRET=$(curl -sf "$BASE/v1/signing-secrets" -H "$H" | json '["data"][0]["secret"]')
echo "organization $ORG signs its requests with $SECRET"

RECEIVER_LOG=$(mktemp)
HOOKLINE_SIGNING_SECRET="$SECRET" python3 -u examples/receiver.py "$PORT" >"$RECEIVER_LOG" 2>&1 &
RECEIVER_PID=$!
trap 'kill "$RECEIVER_PID" 2>/dev/null; rm -f "$RECEIVER_LOG"' EXIT
for _ in $(seq 50); do
  grep -q "listening" "$RECEIVER_LOG" && break
  kill -0 "$RECEIVER_PID" 2>/dev/null || { cat "$RECEIVER_LOG" >&2; echo "the receiver did not start on port $PORT (set RECEIVER_PORT)" >&2; exit 1; }
  sleep 0.1
done
echo "receiver on $TARGET, verifying every request with that secret"

TOOL_IDS=()
for file in examples/tools/*.json; do
  # The example URLs point at real services; point them at the local receiver instead.
  body=$(python3 - "$file" "$TARGET" <<'PY'
import json, sys
from urllib.parse import urlparse
tool = json.load(open(sys.argv[1]))
tool["url"] = sys.argv[2] + urlparse(tool["url"]).path
print(json.dumps(tool))
PY
)
  TOOL_IDS+=("$(curl -sf "$BASE/v1/tools" -H "$H" -d "$body" | json '["id"]')")
done
IDS=$(printf '"%s",' "${TOOL_IDS[@]}")
PERSONA=$(curl -sf "$BASE/v1/personas" -H "$H" \
  -d "{\"name\": \"Store assistant\", \"systemPrompt\": \"Help with orders.\", \"toolIds\": [${IDS%,}]}" | json '["id"]')
TOKEN=$(curl -sf "$BASE/v1/auth/session-token" -H "$H" -d "{\"personaConfig\": {\"personaId\": \"$PERSONA\"}}" | json '["sessionToken"]')
SESSION=$(curl -sf -X POST "$BASE/v1/engine/session" -H "Authorization: Bearer $TOKEN")
SESSION_ID=$(echo "$SESSION" | json '["sessionId"]')
echo "session $SESSION_ID"

call() {
  echo "→ $1"
  curl -s "$BASE/v1/sessions/$SESSION_ID/tool-calls" -H "$H" -d "$1"
  echo
}
call '{"toolCallId": "call_1", "toolName": "check_order_status", "arguments": {"orderId": "ORD-12345"}}'
# As OpenAI hands it over: the arguments as a JSON string.
call '{"toolCallId": "call_2", "toolName": "get_weather", "arguments": "{\"city\": \"Lisbon\", \"units\": \"metric\"}"}'
call '{"toolCallId": "call_3", "toolName": "update_contact_info", "arguments": {"contactId": "003X", "email": "new@example.com"}}'
call '{"toolCallId": "call_4", "toolName": "create_support_ticket", "arguments": {"subject": "Late"}}'
call '{"toolCallId": "call_1", "toolName": "check_order_status", "arguments": {"orderId": "ORD-12345"}}'
sleep 1
echo "call log:"
curl -s "$BASE/v1/sessions/$SESSION_ID/tool-calls?perPage=10" -H "$H" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["data"]:
    print("  {toolCallId:8} {toolName:28} {status:10} attempts={attempts} {executionTime}ms".format(**c))'
echo "the receiver saw:"
sed -n '2,$s/^/  /p' "$RECEIVER_LOG"
if grep -q "REFUSED\|NOT checked" "$RECEIVER_LOG"; then
  echo "some requests were not verified" >&2
  exit 1
fi
echo "session $(curl -s -X POST "$BASE/v1/sessions/$SESSION_ID/end" -H "$H" | json '["status"]')"
echo "replay its events in examples/events.html (open it as a file; a --dev server accepts it):"
echo "  Hookline $BASE, session id $SESSION_ID, client secret $(echo "$SESSION" | json '["clientSecret"]')"
