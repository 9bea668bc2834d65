#!/usr/bin/env bash
# Lints openapi.yaml with Spectral (its OpenAPI ruleset) and Redocly (recommended rules),
# failing on any warning. Installs both (npm, pinned in infra/package.json) when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

ensure_npm_packages
log "spectral lint openapi.yaml"
"$INFRA_DIR/node_modules/.bin/spectral" lint openapi.yaml --ruleset "$INFRA_DIR/.spectral.yaml" \
    --fail-severity warn --quiet
log "redocly lint openapi.yaml"
"$INFRA_DIR/node_modules/.bin/redocly" lint openapi.yaml --config "$INFRA_DIR/redocly.yaml"
log "OpenAPI lints passed"
