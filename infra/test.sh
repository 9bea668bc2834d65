#!/usr/bin/env bash
# Runs every test: unit and handler tests against DynamoDB Local, the end-to-end tests of the
# real binaries under `cargo lambda watch`, the confirmation pages in headless Chromium, and
# the OpenAPI lints, Schemathesis against a local stack, and the template checks. Installs what is missing.
#
#   infra/test.sh                        # everything (what CI runs)
#   infra/test.sh -- <filter>            # cargo test arguments after --
#   infra/test.sh --quick [-- <filter>]  # the cargo tests only: no lints, fuzzer or template checks
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi

ensure_cargo_lambda
ensure_dynamodb_local
ensure_chromium

start_own_dynamodb

# The end-to-end tests run the functions under `cargo lambda watch`, which builds them with
# `cargo run`: build them first, as it does, so the tests do not wait for a compiler.
log "building the function binaries"
build_functions_as_watch_runs_them

shift_args=()
if [ "${1:-}" = "--" ]; then shift; shift_args=("$@"); fi
log "running cargo test"
cargo test --workspace --no-fail-fast -- "${shift_args[@]}"

if [ "$quick" = 1 ]; then
    log "quick run: cargo tests only"
    exit 0
fi

"$INFRA_DIR/check-links.sh"
"$INFRA_DIR/check-openapi.sh"
"$INFRA_DIR/check-fuzz.sh"
"$INFRA_DIR/check-stack.sh"
"$INFRA_DIR/check-template.sh"
