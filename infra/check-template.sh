#!/usr/bin/env bash
# Checks template.yaml offline: `sam validate --lint` and `cfn-lint`. Installs both (PyPI)
# when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

SAM_CLI_VERSION="1.170.0"
if ! sam --version 2>/dev/null | grep -q "$SAM_CLI_VERSION"; then
    log "installing aws-sam-cli $SAM_CLI_VERSION (pip)"
    quiet python3 -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
    log "installing cfn-lint (pip)"
    quiet python3 -m pip install --quiet --disable-pip-version-check cfn-lint
fi
hash -r

export SAM_CLI_TELEMETRY=0
log "sam validate --lint"
sam validate --lint --template template.yaml
log "cfn-lint"
cfn-lint template.yaml
log "template checks passed"
