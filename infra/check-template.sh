#!/usr/bin/env bash
# Checks template.yaml offline: `sam validate --lint`, SAM's translator (which the lint never
# runs) for each value of ApiAuthorizer, and `cfn-lint`; then `cfn-lint` on the
# standalone templates in docs/snippets/. Installs both (PyPI) when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

ensure_sam
if ! python3 -c "import cfn_lint_serverless" 2>/dev/null || ! command -v cfn-lint >/dev/null 2>&1; then
    log "installing cfn-lint and cfn-lint-serverless (pip, infra/.venv)"
    venv_pip_install cfn-lint cfn-lint-serverless
fi
hash -r

export SAM_CLI_TELEMETRY=0
log "sam validate --lint"
sam validate --lint --template template.yaml
log "sam validate --language-extensions (SAM's translator, with the default parameters)"
sam validate --language-extensions --region eu-central-1 --template template.yaml
log "each route's authorizer, for each value of ApiAuthorizer"
"$VENV_DIR/bin/python3" "$INFRA_DIR/check_template_auth.py" template.yaml
log "cfn-lint"
cfn-lint template.yaml
log "cfn-lint-serverless"
cfn-lint -t template.yaml -a cfn_lint_serverless.rules
log "cfn-lint docs/snippets"
cfn-lint docs/snippets/*.yaml
log "template checks passed"
