"""The fuzzer's own check, driven with stand-in responses: what it accepts and what it
refuses (infra/check-fuzz.sh runs this before fuzzing). Run from infra/, with
FUZZ_EMAIL_DAILY_LIMIT and FUZZ_SELF_USER_ID=own set."""

import json
import types

from schemathesis.generation.modes import GenerationMode

import schemathesis_hooks as hooks

PROBLEMS = "https://accounts.example.com/problems/"


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.url = "http://127.0.0.1" + path
        self.headers = headers
        self.body = json.dumps(body).encode() if body is not None else None


class Response:
    def __init__(self, status, body, request):
        self.status_code = status
        self.content = json.dumps(body).encode()
        self.request = request
        self.headers = {}


def positive():
    mode = GenerationMode.POSITIVE
    return types.SimpleNamespace(meta=types.SimpleNamespace(generation=types.SimpleNamespace(mode=mode)))


def judged(check, status, kind, method, path, headers=None, body=None, **problem):
    answer = {"type": PROBLEMS + kind, **problem} if kind else {}
    response = Response(status, answer, Request(method, path, headers or {}, body))
    try:
        check.after_response(None, response, positive())
        return True
    except AssertionError:
        return False


def main():
    check = hooks.valid_data_accepted()
    status_body = {"enabled": True, "version": 1}
    cases = [
        # (accepted?, the answer and the request)
        (True, 404, "not-found", "GET", "/users/other"),
        (False, 404, "not-found", "GET", "/users/own"),
        (False, 401, "unauthorized", "GET", "/users/other"),
        (False, 403, "forbidden", "PUT", "/users/own/email", {}, {"version": 1}),
        (True, 403, "forbidden", "PUT", "/users/own/status", {}, status_body),
        (False, 412, "precondition-failed", "PUT", "/users/other/email", {"If-Match": '"3"'}, {}, 3),
        (True, 412, "precondition-failed", "PUT", "/users/other/email", {"If-Match": '"3"'}, {}, 4),
        (False, 428, "precondition-required", "POST", "/users/other/password", {}, {"password": "p"}),
        (True, 428, "precondition-required", "PUT", "/users/other/email", {}, {"contact": {}}),
        (False, 422, "idempotency-key-reuse", "PUT", "/users/other/status", {"Idempotency-Key": '"k"'}, status_body),
        (False, 429, "too-many-attempts", "POST", "/users/own/password", {}, {"password": "a", "current_password": "b"}),
        (False, 429, "too-many-attempts", "PUT", "/users/own/email", {}, {"version": 1}),
    ]
    failures = []
    for accepted, status, kind, method, path, *rest in cases:
        headers = rest[0] if rest else {}
        body = rest[1] if len(rest) > 1 else None
        problem = {"current_version": rest[2]} if len(rest) > 2 else {}
        if judged(check, status, kind, method, path, headers, body, **problem) != accepted:
            failures.append(f"{status} {kind} {method} {path}: expected {'accepted' if accepted else 'refused'}")

    # A key is reused only once the API stored an answer for it (a 2xx); an error frees it.
    key = {"Idempotency-Key": '"k2"'}
    judged(check, 409, "version-conflict", "PUT", "/users/other/status", key, status_body, current_version=2)
    if judged(check, 422, "idempotency-key-reuse", "PUT", "/users/other/status", key, {"enabled": False, "version": 1}):
        failures.append("a 422 after an error was accepted")
    judged(check, 200, None, "PUT", "/users/other/status", key, status_body)
    if not judged(check, 422, "idempotency-key-reuse", "PUT", "/users/other/status", key, {"enabled": False, "version": 1}):
        failures.append("a 422 after a stored answer was refused")
    # The lock comes after 5 wrong current passwords.
    for attempt in range(5):
        judged(check, 403, "invalid-current-password", "POST", "/users/own/password", {},
               {"password": "a", "current_password": f"b{attempt}"})
    if not judged(check, 429, "too-many-attempts", "POST", "/users/own/password", {}, {"password": "a", "current_password": "c"}):
        failures.append("a 429 after 5 wrong current passwords was refused")
    mismatch = {"errors": [{"field": "version", "code": "if-match-mismatch"}]}
    if judged(check, 400, "validation-error", "PUT", "/users/other/email", {"If-Match": '"1"'}, {"version": 1.0}, **mismatch):
        failures.append("an If-Match mismatch between equal versions was accepted")
    if failures:
        raise SystemExit("valid_data_accepted:\n" + "\n".join(failures))
    print(f"valid_data_accepted: {len(cases)} answers and 4 sequences judged as expected")


if __name__ == "__main__":
    main()
