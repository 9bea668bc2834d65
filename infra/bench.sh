#!/usr/bin/env bash
# The benchmarks (issue #7): cold start, warm latency and DynamoDB requests per operation,
# Argon2 as shipped against C (the reference built here natively, libsodium, libargon2), binary size, memory and Lambda cost. Installs what
# is missing, builds the release binaries (and, for their sizes, the arm64 bootstraps that
# SAM deploys), starts DynamoDB Local, runs `benchmark run` (infra/benchmark) and writes the report.
#
#   infra/bench.sh                  # the full run, ~15 min: writes docs/benchmarks.md
#   infra/bench.sh --quick          # a smoke run of every part, timings not judged: writes target/bench-quick.md
#   BENCH_ARM64=0 infra/bench.sh    # without the arm64 build (x86_64 sizes only; arm64 sizes not judged)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

quick=()
out="docs/benchmarks.md"
if [ "${1:-}" = "--quick" ]; then quick=(--quick); out="target/bench-quick.md"; fi

ensure_dynamodb_local
# The C implementations of Argon2 that the report compares ours with.
if ! "$VENV_DIR/bin/python3" -c 'import nacl, argon2' 2>/dev/null; then
    log "installing pynacl and argon2-cffi (pip, infra/.venv)"
    venv_pip_install "pynacl==1.6.2" "argon2-cffi==25.1.0"
fi

# The reference C implementation, built here with its optimised code path: the C that ours
# must match. Its source is phc-winner-argon2 as argon2-cffi-bindings ships it on PyPI
# (checked against its published sha256); infra/argon2_native.c drives it. Two builds, since
# -march=native picks AVX-512 where the CPU has it, which is not always the faster: one as
# is, one with AVX2 at most. Built again when the driver, the compiler or the CPU changes.
native_dir="target/argon2-native"
sdist="argon2_cffi_bindings-25.1.0.tar.gz"
sdist_sha256="b957f3e6ea4d55d820e40ff76f450952807013d361a65d7f28acc0acbf29229d"
command -v cc >/dev/null 2>&1 || apt_install gcc
stamp="$(cc --version | head -n 1) $(grep -m 1 '^flags' /proc/cpuinfo | sha256sum) $(sha256sum infra/argon2_native.c)"
if [ "$(cat "$native_dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    log "building the reference Argon2 (C, -O3 -march=native, and without AVX-512)"
    rm -rf "$native_dir" && mkdir -p "$native_dir"
    "$VENV_DIR/bin/python3" -m pip download --quiet --no-deps \
        --no-binary argon2-cffi-bindings "argon2-cffi-bindings==25.1.0" -d "$native_dir"
    echo "$sdist_sha256  $native_dir/$sdist" | sha256sum --check --quiet
    tar -xzf "$native_dir/$sdist" -C "$native_dir"
    lib="$native_dir/argon2_cffi_bindings-25.1.0/extras/libargon2"
    for build in "argon2-native:" "argon2-native-avx2:-mno-avx512f"; do
        # shellcheck disable=SC2086
        cc -O3 -march=native ${build#*:} -pthread -I"$lib/include" -I"$lib/src" \
            "$lib"/src/{argon2,core,encoding,opt,thread}.c "$lib/src/blake2/blake2b.c" \
            infra/argon2_native.c -o "$native_dir/${build%%:*}"
    done
    echo "$stamp" >"$native_dir/stamp"
fi
export ARGON2_NATIVE="$REPO_DIR/$native_dir/argon2-native"
export ARGON2_NATIVE_AVX2="$REPO_DIR/$native_dir/argon2-native-avx2"

# callgrind counts the instructions of each initialisation.
command -v valgrind >/dev/null 2>&1 || apt_install valgrind

functions=()
for dir in functions/*/; do functions+=("$(basename "$dir")"); done

# Each function as SAM builds it (aws-lambda-builders' rust-cargolambda runs `cargo lambda
# build --release --bin <function>` from the workspace root), so with the features unified
# over the workspace's default members; the baseline, not one of them, on its own.
# The cargo arguments that select $1, into `args`: a function by its binary, the baseline by
# its package.
select_args() { if [ "$1" = baseline ]; then args=(-p baseline); else args=(--bin "$1"); fi; }
log "building the release binaries"
for f in "${functions[@]}" baseline; do
    select_args "$f"
    cargo build --release --quiet "${args[@]}"
done
cargo build --release --quiet -p benchmark

arm64=()
if [ "${BENCH_ARM64:-1}" = 1 ]; then
    ensure_cargo_lambda
    # Earlier outputs are removed first, so that a failed build leaves a missing bootstrap (a
    # missed target), never a stale one.
    log "building the arm64 bootstraps (cargo lambda build --release --arm64, as above)"
    rm -rf target/lambda
    built=1
    build_log="$(mktemp)"
    for f in "${functions[@]}" baseline; do
        select_args "$f"
        if ! cargo lambda build --release --arm64 --quiet "${args[@]}" >/dev/null 2>"$build_log"; then
            built=0
            tail -n 20 "$build_log" >&2
        fi
    done
    rm -f "$build_log"
    arm64=(target/lambda)
    if [ "$built" = 0 ]; then log "the arm64 build failed: its size targets will be missed"; fi
fi

start_own_dynamodb

mkdir -p "$(dirname "$out")"
target/release/benchmark run "${quick[@]}" target/release "$out" "${arm64[@]}"
