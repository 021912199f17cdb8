#!/usr/bin/env bash
# A whole conversation's worth of tool calls against a local Hookline, end to end.
#
#   scripts/serve --dev                                  # terminal 1: Hookline on :8080
#   python3 examples/receiver.py 3000                    # terminal 2: the example endpoints
#   examples/walkthrough.sh                              # terminal 3
#
# It creates an organization and a key, the five example tools pointed at the receiver, a persona,
# a session; then makes the calls an LLM would make and shows the call log.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${HOOKLINE_URL:-http://localhost:8080}
TARGET=${RECEIVER_URL:-http://localhost:3000}
HOOKLINE=${HOOKLINE_BIN:-"cargo run -q --release --bin hookline --"}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

ORG="walkthrough-$(date +%s)"
$HOOKLINE --dev orgs create "$ORG" >/dev/null
KEY=$($HOOKLINE --dev api-keys create --org "$ORG" | tail -n 1)
H="Authorization: Bearer $KEY"

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
echo "follow it in examples/events.html with client secret $(echo "$SESSION" | json '["clientSecret"]')"

call() {
  echo "→ $1"
  curl -s "$BASE/v1/sessions/$SESSION_ID/tool-calls" -H "$H" -d "$1"
  echo
}
call '{"toolCallId": "call_1", "toolName": "check_order_status", "arguments": {"orderId": "ORD-12345"}}'
call '{"toolCallId": "call_2", "toolName": "get_weather", "arguments": {"city": "Lisbon", "units": "metric"}}'
call '{"toolCallId": "call_3", "toolName": "update_contact_info", "arguments": {"contactId": "003X", "email": "new@example.com"}}'
call '{"toolCallId": "call_4", "toolName": "create_support_ticket", "arguments": {"subject": "Late"}}'
call '{"toolCallId": "call_1", "toolName": "check_order_status", "arguments": {"orderId": "ORD-12345"}}'
sleep 1
echo "call log:"
curl -s "$BASE/v1/sessions/$SESSION_ID/tool-calls?perPage=10" -H "$H" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["data"]:
    print("  {toolCallId:8} {toolName:28} {status:10} attempts={attempts} {executionTime}ms".format(**c))'
curl -s -X POST "$BASE/v1/sessions/$SESSION_ID/end" -H "$H" | json '["status"]'
