#!/usr/bin/env bash
# Fuzzes the API from the outside: Schemathesis (pinned, in infra/.venv) runs openapi.yaml
# against a local stack of its own (infra/start-local.sh on free ports, its state in
# target/fuzz-stack), twice: as a user acting on itself, then as the partner's API client on
# the demo users. Settings and the reason for each: infra/schemathesis.toml; what counts as
# valid data refused: infra/schemathesis_hooks.py. Fails on any failure or error, and when
# a run's stateful phase followed fewer links than the document has.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

SCHEMATHESIS_VERSION="4.32.5"
VENV="$INFRA_DIR/.venv"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION (pip, infra/.venv)"
    venv_pip_install "schemathesis==$SCHEMATHESIS_VERSION"
fi

STACK_DIR="$REPO_DIR/target/fuzz-stack"
# The email cool-down is 0 and the daily limit its most, so that valid email changes are
# answered, not refused with 429 (the hooks accept a 429 only past that limit).
EMAIL_DAILY_LIMIT=100
log "starting a local stack for the fuzzer (log: target/fuzz-stack/stack.log)"
# RELOAD=0: an edit made while the tests run must not restart the functions under the fuzzer.
start_own_stack "$STACK_DIR" RELOAD=0 EMAIL_CHANGE_COOLDOWN_SECONDS=0 \
    EMAIL_CHANGE_DAILY_LIMIT="$EMAIL_DAILY_LIMIT"

# The links of openapi.yaml: 4 from each of the three user answers (get, status, email).
LINKS_IN_DOCUMENT=12

# The check that judges valid data, driven with stand-in answers first.
(cd "$INFRA_DIR" && FUZZ_EMAIL_DAILY_LIMIT="$EMAIL_DAILY_LIMIT" FUZZ_SELF_USER_ID=own \
    "$VENV/bin/python3" test_schemathesis_hooks.py)

# fuzz NAME TOKEN SELF_USER_ID LINKS USER_ID...: one Schemathesis run with TOKEN, half of its
# user ids drawn from USER_ID... (schemathesis.toml). SELF_USER_ID is the token's own user,
# if any. Fails unless the stateful phase followed LINKS of the document's links.
fuzz() {
    local name="$1" token="$2" self="$3" links_wanted="$4"
    shift 4
    printf '"%s"\n' "$@" >"$STACK_DIR/users.dict"
    log "schemathesis as $name: openapi.yaml against http://127.0.0.1:$API_PORT"
    local status=0
    PYTHONPATH="$INFRA_DIR" SCHEMATHESIS_HOOKS=schemathesis_hooks \
        FUZZ_SELF_USER_ID="$self" FUZZ_EMAIL_DAILY_LIMIT="$EMAIL_DAILY_LIMIT" \
        "$VENV/bin/st" --config-file "$INFRA_DIR/schemathesis.toml" run openapi.yaml \
        --url "http://127.0.0.1:$API_PORT" \
        --header "Authorization: Bearer $token" \
        --checks all --exclude-checks positive_data_acceptance \
        --report junit --report-dir "$STACK_DIR/report-$name" \
        --no-color | tee "$STACK_DIR/$name.out" || status=$?
    if [ "$status" -ne 0 ]; then
        log "schemathesis as $name found failures or errors (exit $status); the stack's log: target/fuzz-stack/stack.log"
        exit "$status"
    fi
    # A slow machine must not pass by covering less: the links followed are counted.
    local links covered total
    links="$(sed -n 's/^ *API Links: *\([0-9]\+\) covered \/ [0-9]\+ selected \/ \([0-9]\+\) total.*/\1 \2/p' \
        "$STACK_DIR/$name.out")"
    read -r covered total <<<"${links:-0 0}"
    if [ "$total" -ne "$LINKS_IN_DOCUMENT" ] || [ "$covered" -lt "$links_wanted" ]; then
        log "schemathesis as $name followed $covered of the document's $total links, not $links_wanted; see $STACK_DIR/$name.out"
        exit 1
    fi
    log "schemathesis as $name: no failures, no errors, $covered of $total links followed"
}

# A user acting on itself (the self-service paths), first: the partner's client may reset
# or disable the demo users it fuzzes, which ends their tokens. Greta is in none of them.
# Of the document's 12 links, the 4 from a status change's answer need a caller that may
# change a status (403 for a user): 8 are there to follow.
fuzz user "$TOKEN_GRETA" a1b2c3d4-0006-4000-8000-000000000006 8 \
    a1b2c3d4-0006-4000-8000-000000000006
# The partner's API client on the demo users of infra/seed.json: every branch of the tenant
# rules (its own tenant, sub-tenants, a disabled and a not activated account, a user outside).
fuzz client "$TOKEN_PARTNER_CLIENT" "" "$LINKS_IN_DOCUMENT" \
    a1b2c3d4-0001-4000-8000-000000000001 1c234e69-5469-424a-a6d1-ff5658b387a6 \
    a1b2c3d4-0002-4000-8000-000000000002 a1b2c3d4-0003-4000-8000-000000000003 \
    a1b2c3d4-0004-4000-8000-000000000004 a1b2c3d4-0005-4000-8000-000000000005
