#!/usr/bin/env bash
# Fuzzes the API from the outside: Schemathesis (pinned, in infra/.venv) runs openapi.yaml
# against a local stack of its own (infra/start-local.sh on free ports, its state in
# target/fuzz-stack), with the partner client's token, which may act on the demo users.
# Settings and the reason for each: infra/schemathesis.toml. Fails on any failure or error.
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
log "starting a local stack for the fuzzer (log: target/fuzz-stack/stack.log)"
# RELOAD=0: an edit made while the tests run must not restart the functions under the fuzzer.
start_own_stack "$STACK_DIR" RELOAD=0

log "schemathesis: openapi.yaml against http://127.0.0.1:$API_PORT (report: target/fuzz-stack/report)"
status=0
# infra/schemathesis_hooks.py: one hook, for a case Schemathesis mislabels (it says why).
PYTHONPATH="$INFRA_DIR" SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "$VENV/bin/st" --config-file "$INFRA_DIR/schemathesis.toml" run openapi.yaml \
    --url "http://127.0.0.1:$API_PORT" \
    --header "Authorization: Bearer $TOKEN_PARTNER_CLIENT" \
    --checks all \
    --report junit --report-dir "$STACK_DIR/report" \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    log "schemathesis found failures or errors (exit $status); the stack's log: target/fuzz-stack/stack.log"
    exit "$status"
fi
log "schemathesis: no failures, no errors"
