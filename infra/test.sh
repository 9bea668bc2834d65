#!/usr/bin/env bash
# Runs every test: unit and handler tests against DynamoDB Local, the end-to-end tests of the
# real binaries under `cargo lambda watch`, and the template checks. Installs what is missing.
#
#   infra/test.sh                # everything
#   infra/test.sh -- <filter>    # cargo test arguments after --
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

ensure_cargo_lambda
ensure_dynamodb_local

work="$(mktemp -d)"
cleanup() {
    [ -n "${DYNAMODB_PID:-}" ] && kill "$DYNAMODB_PID" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port="$(free_port)"
log "starting DynamoDB Local on port $port"
start_dynamodb "$port" "$work/dynamodb.log"

# The end-to-end tests run the functions under `cargo lambda watch`, which builds them with
# `cargo run`: build them first, with the features they are deployed with, so the tests do
# not wait for a compiler.
log "building the function binaries"
cargo build --quiet $(for f in functions/*/; do printf -- '-p %s ' "$(basename "$f")"; done)

shift_args=()
if [ "${1:-}" = "--" ]; then shift; shift_args=("$@"); fi
log "running cargo test"
cargo test --workspace --no-fail-fast -- "${shift_args[@]}"

"$INFRA_DIR/check-template.sh"
