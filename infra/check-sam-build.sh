#!/usr/bin/env bash
# Builds the functions with `sam build` (arm64, release) and runs every event file of
# tests/events through the BUILT bootstraps, under qemu-aarch64, each against a minimal
# Lambda Runtime API (benchmark replay-events), with DynamoDB Local and the demo data.
# Installs what is missing. Takes about 15 minutes on 2 cores, most of it the build.
#
#   infra/check-sam-build.sh            # sam build, then replay
#   SKIP_SAM_BUILD=1 infra/check-sam-build.sh   # replay the existing .aws-sam/build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

ensure_cargo_lambda
ensure_dynamodb_local
ensure_sam
command -v qemu-aarch64 >/dev/null 2>&1 && [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] \
    || apt_install qemu-user libc6-arm64-cross libgcc-s1-arm64-cross
rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$' \
    || { log "adding the Rust target aarch64-unknown-linux-gnu"; rustup target add aarch64-unknown-linux-gnu; }

if [ "${SKIP_SAM_BUILD:-}" != 1 ]; then
    log "sam build (arm64, release; several minutes)"
    sam build
fi

work="$(mktemp -d)"
cleanup() {
    [ -n "${DYNAMODB_PID:-}" ] && kill "$DYNAMODB_PID" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
start_dynamodb "$(free_port)" "$work/dynamodb.log"
cargo build --quiet -p devtool
cargo run --quiet -p devtool -- create-table accounts
cargo run --quiet -p devtool -- seed accounts infra/seed.json

log "replaying tests/events through .aws-sam/build/*/bootstrap under qemu-aarch64"
TABLE_NAME=accounts AUTH_MODE=apigateway \
CONFIRMATION_URL_BASE=http://127.0.0.1:3000 MAIL_TRANSPORT=directory \
MAIL_SENDER=no-reply@accounts.example.com MAIL_DIR="$work/mail" \
EVENTS_TRANSPORT=directory EVENT_SOURCE=platform.accounts EVENTS_DIR="$work/events" \
    cargo run --quiet -p benchmark -- replay-events tests/events .aws-sam/build \
    qemu-aarch64 -L /usr/aarch64-linux-gnu
