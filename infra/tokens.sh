#!/usr/bin/env bash
# Development tokens issued now, for the running local stack (infra/start-local.sh): the
# demo principals of infra/.local/tokens.sh with a new `iat`. A reset, a disable or another
# session's password change ends a demo user's earlier tokens (docs/contract.md §3); this
# loads new ones into your shell:
#
#   source <(infra/tokens.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

state_dir="${LOCAL_DIR:-$INFRA_DIR/.local}"
env_file="$state_dir/functions.env"
if [ ! -f "$env_file" ]; then
    log "no local stack here: start infra/start-local.sh first"
    exit 1
fi
DEV_AUTH_SECRET="$(sed -n 's/^DEV_AUTH_SECRET=//p' "$env_file")"
base_url="$(sed -n 's/^CONFIRMATION_URL_BASE=//p' "$env_file")"
export DEV_AUTH_SECRET
cargo run --quiet -p devtool -- tokens "$INFRA_DIR/seed.json" "$base_url" | tee "$state_dir/tokens.sh"
