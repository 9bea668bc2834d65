"""Argon2id with the C implementations of PyPI's wheels, for `benchmark run`.

Reads a count per line on stdin; for each, hashes that many times with libsodium (PyPI
`pynacl`) and with libargon2 (PyPI `argon2-cffi`), timing only the hash call, and prints one
JSON line: {"libsodium": [ms, ...], "argon2-cffi": [ms, ...]}, each the CPU time of the hash
call on this thread (time.thread_time_ns), as the functions report theirs. The parameters are the
functions' defaults unless given: m = 19456 KiB, t = 2, p = 1, 32-byte output, 16-byte salt.
"""

import json
import os
import sys
import time

import argon2.low_level
import nacl.bindings

MEMORY_KIB = int(os.environ.get("ARGON2_MEMORY_KIB", "19456"))
ITERATIONS = int(os.environ.get("ARGON2_ITERATIONS", "2"))
PASSWORD = b"benchmark passphrase number 1 of a chain"


def libsodium(salt):
    # libsodium's Argon2id is single-lane (p = 1), as ours is by default.
    return nacl.bindings.crypto_pwhash_alg(
        32, PASSWORD, salt, ITERATIONS, MEMORY_KIB * 1024, nacl.bindings.crypto_pwhash_ALG_ARGON2ID13
    )


def libargon2(salt):
    return argon2.low_level.hash_secret_raw(
        PASSWORD, salt, time_cost=ITERATIONS, memory_cost=MEMORY_KIB, parallelism=1, hash_len=32,
        type=argon2.low_level.Type.ID,
    )


def timed(hash_once, count):
    times = []
    for _ in range(count):
        salt = os.urandom(16)
        start = time.thread_time_ns()
        hash_once(salt)
        times.append((time.thread_time_ns() - start) / 1e6)
    return times


def main():
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        count = int(line)
        result = {"libsodium": timed(libsodium, count), "argon2-cffi": timed(libargon2, count)}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
