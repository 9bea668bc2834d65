#!/usr/bin/env bash
# Starts the local stack: DynamoDB Local (in memory), the table from template.yaml, demo
# tenants and users, development tokens with curl lines, and the functions behind
# `cargo lambda watch`, served on http://127.0.0.1:9000 by `devtool api-gateway` (the
# template's routes, and the events API Gateway sends); mail goes to infra/.local/mail as .eml
# files. The table's stream is followed into account-events (`devtool follow-stream`), whose
# bus is infra/.local/events: one JSON file per event, delivered by the template's rules
# (`devtool follow-bus`; sign-outs land in infra/.local/revocations). Installs what is missing. Ctrl-C
# stops all.
#
# Ports: DYNAMODB_PORT (default 8000), API_PORT (default 9000), FUNCTIONS_PORT (cargo lambda
# watch's invoke API, default API_PORT + 1). State (logs, tokens, mail,
# events): LOCAL_DIR (default infra/.local). `cargo lambda watch` restarts the functions when
# a source file changes, and a request in flight then is lost (its log says `command killed
# code=ForceStop`); RELOAD=0 keeps them running instead (the fuzzer's stack does).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
API_PORT="${API_PORT:-9000}"
FUNCTIONS_PORT="${FUNCTIONS_PORT:-$((API_PORT + 1))}"
TABLE_NAME="${TABLE_NAME:-accounts}"
STATE_DIR="${LOCAL_DIR:-$INFRA_DIR/.local}"
mkdir -p "$STATE_DIR"

ensure_cargo_lambda
ensure_dynamodb_local

for port in "$DYNAMODB_PORT" "$API_PORT" "$FUNCTIONS_PORT"; do
    if port_open "$port"; then
        log "port $port is in use: stop what runs there, or set DYNAMODB_PORT / API_PORT / FUNCTIONS_PORT"
        exit 1
    fi
done

cleanup() {
    [ -n "${FOLLOWER_PID:-}" ] && kill "$FOLLOWER_PID" 2>/dev/null || true
    [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null || true
    [ -n "${GATEWAY_PID:-}" ] && kill "$GATEWAY_PID" 2>/dev/null || true
    [ -n "${DYNAMODB_PID:-}" ] && kill "$DYNAMODB_PID" 2>/dev/null || true
}
trap cleanup EXIT

log "starting DynamoDB Local on port $DYNAMODB_PORT (log: $STATE_DIR/dynamodb.log)"
start_dynamodb "$DYNAMODB_PORT" "$STATE_DIR/dynamodb.log"

log "building the functions and the dev tool (the first build takes a few minutes)"
cargo build --quiet -p devtool
build_functions_as_watch_runs_them

# A fresh signing secret per start: tokens from an earlier start stop working.
DEV_AUTH_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export DEV_AUTH_SECRET

cargo run --quiet -p devtool -- create-table "$TABLE_NAME"
cargo run --quiet -p devtool -- seed "$TABLE_NAME" "$INFRA_DIR/seed.json"

cat >"$STATE_DIR/functions.env" <<ENV
TABLE_NAME=$TABLE_NAME
DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT
AUTH_MODE=development
DEV_AUTH_SECRET=$DEV_AUTH_SECRET
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
AWS_REGION=$AWS_REGION
CONFIRMATION_URL_BASE=http://127.0.0.1:$API_PORT
MAIL_TRANSPORT=directory
MAIL_SENDER=no-reply@accounts.example.com
MAIL_DIR=$STATE_DIR/mail
EVENTS_TRANSPORT=directory
EVENT_SOURCE=platform.accounts
EVENTS_DIR=$STATE_DIR/events
SIGN_OUT_TRANSPORT=directory
REVOCATIONS_DIR=$STATE_DIR/revocations
ENV
# Limits a caller of this script may set (infra/check-fuzz.sh sets a cool-down of 0).
for name in EMAIL_CHANGE_COOLDOWN_SECONDS EMAIL_CHANGE_DAILY_LIMIT; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}" >>"$STATE_DIR/functions.env"; fi
done

cargo run --quiet -p devtool -- tokens "$INFRA_DIR/seed.json" "http://127.0.0.1:$API_PORT" | tee "$STATE_DIR/tokens.sh"
echo
log "tokens saved to $STATE_DIR/tokens.sh (source it in another shell)"
log "confirmation mails and notices are written to $STATE_DIR/mail/*.eml"
log "account events are written to $STATE_DIR/events/*.json (the stream is followed into account-events)"
log "sessions ended at the identity provider's stand-in: $STATE_DIR/revocations/*.json"
# The stream's records of this table, in memory, start with this run: start the events
# and mail directories afresh too.
rm -rf "$STATE_DIR/events" "$STATE_DIR/mail" "$STATE_DIR/revocations"
cargo run --quiet -p devtool -- follow-stream "$TABLE_NAME" \
    "http://127.0.0.1:$FUNCTIONS_PORT/2015-03-31/functions/account-events/invocations" \
    2>>"$STATE_DIR/follow-stream.log" &
FOLLOWER_PID=$!
# The bus's rules: each event to the functions whose rule in template.yaml matches it
# (revoke-sessions writes a file per sign-out to $STATE_DIR/revocations, Cognito's stand-in).
cargo run --quiet -p devtool -- follow-bus "$STATE_DIR/events" "http://127.0.0.1:$FUNCTIONS_PORT" \
    2>>"$STATE_DIR/follow-bus.log" &
BUS_PID=$!
# API Gateway's part: `cargo lambda watch`'s own HTTP front answers a body that is not UTF-8
# with a 500 of its own before any function runs, where API Gateway passes it base64-encoded.
cargo run --quiet -p devtool -- api-gateway "$API_PORT" "http://127.0.0.1:$FUNCTIONS_PORT" \
    2>>"$STATE_DIR/api-gateway.log" &
GATEWAY_PID=$!
log "serving the API on http://127.0.0.1:$API_PORT (requests: $STATE_DIR/api-gateway.log) — Ctrl-C stops everything"
watch_args=()
[ "${RELOAD:-1}" = 0 ] && watch_args+=(--ignore-changes)
cargo lambda watch "${watch_args[@]}" --invoke-address 127.0.0.1 --invoke-port "$FUNCTIONS_PORT" \
    --env-file "$STATE_DIR/functions.env"
