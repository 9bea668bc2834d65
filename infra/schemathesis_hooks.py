"""Schemathesis hooks for infra/check-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Two things live here:

1. `map_case`: Schemathesis 4.32.5's coverage phase can label a case positive while one of
   its parts was generated negative: seen as `If-Match: 0` (a type mutation of the header,
   whose schema is a quoted version) in an "Example value" case of the path parameter. Such
   a case is negative data, so it is labelled negative: the negative-data check judges it.

2. `valid_data_accepted`, which replaces the built-in `positive_data_acceptance` (switched
   off in schemathesis.toml). For data the schema calls valid it accepts what any caller may
   get (2xx; 403 and 404 from the tenant rules; 409 from a stale `version` or a key still
   running; 5xx, which `not_a_server_error` judges). Every other status passes only as one
   of the cases the API documents for rules a JSON Schema cannot state, each recognised from
   the request that was sent (docs/contract.md, errors):
   - 400 `if-match-mismatch`: both `If-Match` and a body `version`, and they differ;
   - 400 `password-policy` on a password change (NFKC length, common passwords, the login);
   - 400 on `current_password` missing, when a user changes its own password (the schema
     cannot require it: an administrative reset does without);
   - 400 on `If-Match` or `Idempotency-Key` when the header sent breaks its schema in
     openapi.yaml: a part Schemathesis generated negative in a case it labels positive
     (see 1; seen with both headers);
   - 400 `invalid-token` (as problem+json, or as the page a browser gets) on the
     confirmation routes: a token never issued;
   - 412: an `If-Match` was sent; 428: neither `If-Match` nor a body `version` was sent;
   - 422: this `Idempotency-Key` was sent earlier for the same user with another request;
   - 429 on a password change by the user itself (wrong current passwords lock it);
   - 429 on an email change once this run has seen the day's limit of confirmation mails
     for that user answered (the fuzz stack's cool-down is 0).
   Any other 400, 401, 410, 413, 415, 422, 428 or 429 on valid data fails the run.
"""

import json
import os
import re
import threading
from urllib.parse import urlsplit

import schemathesis
import yaml
from schemathesis.generation.modes import GenerationMode

# The user the token of this run belongs to, when it is a user's (check-fuzz.sh sets it).
SELF_USER_ID = os.environ.get("FUZZ_SELF_USER_ID", "")
# The stack's EMAIL_CHANGE_DAILY_LIMIT (check-fuzz.sh sets both).
EMAIL_DAILY_LIMIT = int(os.environ["FUZZ_EMAIL_DAILY_LIMIT"])

ALWAYS_ACCEPTED = {403, 404, 409}

def _header_patterns():
    """The headers whose schema has a pattern, from openapi.yaml: name -> regex."""
    path = os.path.join(os.path.dirname(__file__), "..", "openapi.yaml")
    with open(path, encoding="utf-8") as document:
        schemas = yaml.safe_load(document)["components"]["schemas"]
    return {
        "If-Match": re.compile(schemas["ETag"]["pattern"]),
        "Idempotency-Key": re.compile(schemas["IdempotencyKey"]["pattern"]),
    }


HEADER_PATTERNS = _header_patterns()
# The problem type of a confirmation page (functions/confirm-email).
PAGE_PROBLEM = re.compile(rb'<p data-problem="([a-z-]+)">')


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.POSITIVE:
        if any(info.mode == GenerationMode.NEGATIVE for info in meta.components.values()):
            meta.generation.mode = GenerationMode.NEGATIVE
    return case


def _json(response):
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _sent(response):
    """What was sent: (method, path, headers, JSON body or None)."""
    request = response.request
    raw = request.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return request.method, urlsplit(request.url).path, request.headers, body


def _breaks_header_schema(errors, headers):
    """One `invalid` error on a header whose sent value breaks its schema's pattern."""
    ((field, code),) = errors
    pattern = HEADER_PATTERNS.get(field)
    value = headers.get(field)
    return code == "invalid" and pattern is not None and value is not None and not pattern.search(value)


def _path_user(path):
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "users" else ""


@schemathesis.check
class valid_data_accepted:
    """Valid data is accepted, or refused only for a documented rule the request breaks."""

    def __init__(self):
        # (Idempotency-Key, user) -> the requests sent with it (a set: a check may be
        # called again for one response while Schemathesis shrinks or replays).
        self.keys = {}
        # user -> the responses (by identity, kept alive so that no id is reused) of email
        # changes answered with a confirmation mail: two equal requests send two mails.
        self.mails = {}
        self.lock = threading.Lock()

    def after_response(self, ctx, response, case):
        method, path, headers, body = _sent(response)
        key = headers.get("Idempotency-Key")
        request = json.dumps([method, path, headers.get("If-Match"), body], sort_keys=True)
        earlier = set()
        if key is not None:
            with self.lock:
                seen = self.keys.setdefault((key, _path_user(path)), set())
                earlier = seen - {request}
                seen.add(request)

        user = _path_user(path)
        email_route = method == "PUT" and path.endswith("/email")
        if email_route and response.status_code == 200 and "pending_email_change" in _json(response):
            with self.lock:
                self.mails.setdefault(user, {})[id(response)] = response
        mails_sent = len(self.mails.get(user, ()))

        meta = case.meta
        if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
            return None
        status = response.status_code
        if 200 <= status < 300 or status >= 500 or status in ALWAYS_ACCEPTED:
            return None
        problem = _json(response)
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
        errors = {(e.get("field"), e.get("code")) for e in problem.get("errors", []) if isinstance(e, dict)}
        codes = {code for _, code in errors}
        # The confirmation routes answer a browser with a page that names the problem type.
        page = PAGE_PROBLEM.search(response.content)
        if page is not None:
            kind = page.group(1).decode()
        version = body.get("version") if isinstance(body, dict) else None
        if_match = headers.get("If-Match")
        password_route = method == "POST" and path.endswith("/password")
        confirmation_route = path.endswith("/email/confirmation")

        recognised = (
            (status == 400 and "if-match-mismatch" in codes
             and if_match is not None and version is not None
             and if_match.strip().strip('"') != str(version))
            or (status == 400 and kind == "password-policy" and password_route)
            or (status == 400 and password_route and user == SELF_USER_ID
                and errors == {("current_password", "required")}
                and isinstance(body, dict) and "current_password" not in body)
            or (status == 400 and len(errors) == 1 and _breaks_header_schema(errors, headers))
            or (status == 400 and kind == "invalid-token" and confirmation_route)
            or (status == 412 and kind == "precondition-failed" and if_match is not None)
            or (status == 428 and kind == "precondition-required"
                and if_match is None and version is None)
            or (status == 422 and kind == "idempotency-key-reuse" and bool(earlier))
            or (status == 429 and kind == "too-many-attempts" and password_route
                and SELF_USER_ID != "" and user == SELF_USER_ID)
            or (status == 429 and kind == "too-many-attempts" and email_route
                and mails_sent >= EMAIL_DAILY_LIMIT)
        )
        if not recognised:
            raise AssertionError(
                f"Valid data refused: {status} {kind or '(no problem type)'} "
                f"{sorted(c for c in codes if c)} for {method} {path}, "
                "which no documented rule explains for this request"
            )
        return None
