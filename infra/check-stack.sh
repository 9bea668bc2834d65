#!/usr/bin/env bash
# Drives the default local stack (infra/start-local.sh as a newcomer runs it: reload on, its
# state inside the working tree, under infra/.local/check-stack) with a few hundred requests
# that read, write, publish events and mail notices, while files are written into the
# working tree as tools write them (.hypothesis, __pycache__, .git, a log) but no source is
# edited. Fails when `cargo lambda watch` restarted the functions then (`ForceStop` in the
# stack's log: the requests in flight are lost) or when a request took more than 5 s; then
# fails unless a new source file does restart them (the watch still watches).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

ROUNDS="${ROUNDS:-100}"
STACK_DIR="$INFRA_DIR/.local/check-stack"
log "starting the default local stack (log: infra/.local/check-stack/stack.log)"
start_own_stack "$STACK_DIR"

API="http://127.0.0.1:$API_PORT"
JOHN=1c234e69-5469-424a-a6d1-ff5658b387a6
CLERK=a1b2c3d4-0003-4000-8000-000000000003
NEWHIRE=a1b2c3d4-0002-4000-8000-000000000002
slow=0
sent=0
# request EXPECTED METHOD PATH TOKEN [BODY]: one request, at most 5 s, with its status.
request() {
    local expected="$1" method="$2" path="$3" token="$4" body="${5:-}" out
    local args=(-s -o /dev/null -w '%{http_code} %{time_total}' -m 5 -X "$method"
        -H "Authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
    out="$(curl "${args[@]}" "$API$path" || true)"
    sent=$((sent + 1))
    if [ "${out%% *}" != "$expected" ]; then
        log "$method $path: expected $expected, got ${out:-nothing} (over 5 s or lost)"
        slow=$((slow + 1))
    fi
}

# The first request to each function waits for its start: not timed, not counted.
warm() { curl -s -o /dev/null -m 300 -H "Authorization: Bearer $2" -H 'Content-Type: application/json' "${@:3}" "$API$1" || true; }
warm "/users/$JOHN" "$TOKEN_PARTNER_CLIENT"
warm "/users/$JOHN/status" "$TOKEN_PARTNER_CLIENT" -X PUT -d '{"enabled": true, "version": 1}'
warm "/users/$CLERK/password" "$TOKEN_PARTNER_CLIENT" -X POST -d '{"password": "a temporary passphrase to start"}'
warm "/users/$NEWHIRE/email" "$TOKEN_CUSTOMER_CLIENT" -X PUT -d '{"contact": {"email": "nina@contoso.example"}, "version": 1}'

# What tools write beside the sources while the stack runs: Hypothesis' examples (a fresh
# clone has no .hypothesis/.gitignore yet), Python's bytecode, git, a log of one's own.
probes=(.hypothesis/check-stack infra/__pycache__/check-stack.pyc check-stack.log)
[ -d .git ] && probes+=(.git/check-stack)
cleanup_probes() { rm -f "${probes[@]}" shared/src/check_stack_probe.rs; rmdir .hypothesis 2>/dev/null || true; }
trap 'cleanup_probes; stop_own_stack' EXIT
mkdir -p .hypothesis infra/__pycache__

log "$ROUNDS rounds of reads, no-op writes, resets (events and notices) and address changes"
for round in $(seq 1 "$ROUNDS"); do
    for probe in "${probes[@]}"; do echo "$round" >>"$probe"; done
    request 200 GET "/users/$JOHN" "$TOKEN_PARTNER_CLIENT"
    request 200 PUT "/users/$JOHN/status" "$TOKEN_PARTNER_CLIENT" '{"enabled": true, "version": 1}'
    request 204 POST "/users/$CLERK/password" "$TOKEN_PARTNER_CLIENT" \
        "{\"password\": \"a temporary passphrase number $round\"}"
    request 200 PUT "/users/$NEWHIRE/email" "$TOKEN_CUSTOMER_CLIENT" \
        "{\"contact\": {\"email\": \"nina-$round@contoso.example\"}, \"version\": $((round + 1))}"
done
# Let the stream's events and notices be written (files in the stack's directory).
sleep 5
request 200 GET "/users/$JOHN" "$TOKEN_PARTNER_CLIENT"

restarts="$(grep -c 'ForceStop' "$STACK_DIR/stack.log" || true)"
events="$(find "$STACK_DIR/events" -name '*.json' 2>/dev/null | wc -l)"
log "$sent requests: $slow over 5 s or refused; $events events written; functions restarted $restarts times"
if [ "$slow" -ne 0 ] || [ "$restarts" -ne 0 ]; then
    log "the stack dropped or delayed requests (its log: infra/.local/check-stack/stack.log)"
    exit 1
fi
if [ "$events" -eq 0 ]; then
    log "no event was written: the check did not exercise the stream"
    exit 1
fi
log "the default stack kept every request"

# The other half: an edit of a source does restart the functions. A new file that no crate
# includes, so that the restart's `cargo run` has nothing to rebuild.
echo "// check-stack.sh: a source file that appears" >shared/src/check_stack_probe.rs
for _ in $(seq 1 30); do
    grep -q 'ForceStop' "$STACK_DIR/stack.log" && break
    sleep 1
done
rm -f shared/src/check_stack_probe.rs
if ! grep -q 'ForceStop' "$STACK_DIR/stack.log"; then
    log "a new source file did not restart the functions: the watch ignores the sources"
    exit 1
fi
# Removing the file restarts them once more (after the watch's 3 s throttle): then they
# answer again, at the latest after their start.
answered=""
for _ in $(seq 1 60); do
    sleep 1
    answered="$(curl -s -o /dev/null -w '%{http_code}' -m 30 \
        -H "Authorization: Bearer $TOKEN_PARTNER_CLIENT" "$API/users/$JOHN" || true)"
    [ "$answered" = 200 ] && [ "$(grep -c 'ForceStop' "$STACK_DIR/stack.log")" -ge 2 ] && break
done
[ "$answered" = 200 ] || { log "the stack did not answer after the restart"; exit 1; }
log "a new source file restarted the functions, which answer again"
