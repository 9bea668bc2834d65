"""Schemathesis hooks for infra/check-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Two things live here:

1. `map_case`: Schemathesis 4.32.5's coverage phase can label a case positive while one of
   its parts was generated negative: seen as `If-Match: 0` (a type mutation of the header,
   whose schema is a quoted version) in an "Example value" case of the path parameter. Such
   a case is negative data, so it is labelled negative: the negative-data check judges it.

2. `valid_data_accepted`, which replaces the built-in `positive_data_acceptance` (which
   check-fuzz.sh excludes). For data the schema calls valid it accepts 2xx and 5xx (which
   `not_a_server_error` judges); 403 and 404 from the tenant rules on another user's id
   (on the run's own user, only a wrong current password and the status route are 403,
   and nothing is 404). Every other status passes only as one of the cases the API
   documents for rules a JSON Schema cannot state, each recognised from the request sent
   and what this run saw before (docs/contract.md, errors):
   - 400 `if-match-mismatch`: both `If-Match` and a body `version`, and they differ;
   - 400 `password-policy` on a password change (NFKC length, common passwords, the login);
   - 400 on `current_password` missing, when a user changes its own password (the schema
     cannot require it: an administrative reset does without);
   - 400 on `If-Match` or `Idempotency-Key` when the header sent breaks its schema in
     openapi.yaml: a part Schemathesis generated negative in a case it labels positive
     (see 1; seen with both headers);
   - 400 `invalid-token` (as problem+json, or as the page a browser gets) on the
     confirmation routes: a token never issued;
   - 409 `version-conflict` whose `current_version` differs from the body's `version`, or
     `idempotency-key-in-use`;
   - 412 whose `current_version` differs from the `If-Match` sent;
   - 428 on the two writes that take a version, with neither `If-Match` nor `version`;
   - 422: this `Idempotency-Key` had an answer stored for the same user for another
     request, or a replay with another password burned it;
   - 429 on a password change by the user itself after 5 wrong current passwords;
   - 429 on an email change once this run has seen the day's limit of confirmation mails
     for that user sent (the fuzz stack's cool-down is 0).
   Any other 400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 428 or 429 fails the run.
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


def _header(response, name):
    """A response header's values, whatever the case of its name."""
    return [v for k, values in response.headers.items() if k.lower() == name.lower() for v in values]


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


def _same_version(sent, current):
    """Whether a version sent (a number, or an ETag's digits) is `current_version`."""
    try:
        return current is not None and int(str(sent).strip().strip('"')) == int(current)
    except (TypeError, ValueError):
        return False


@schemathesis.check
class valid_data_accepted:
    """Valid data is accepted, or refused only for a documented rule the request breaks.

    What it remembers is kept in sets, or by response identity: Schemathesis may call a
    check again for one response while it shrinks or replays a case.
    """

    def __init__(self):
        # (Idempotency-Key, user) -> the requests whose answer the API stored (a 2xx that
        # was no replay), and the keys a replay with another password burned.
        self.stored = {}
        self.burned = set()
        # user -> responses of email changes that sent a confirmation mail, and of wrong
        # current passwords (by identity, kept alive so that no id is reused).
        self.mails = {}
        self.wrong_passwords = {}
        self.lock = threading.Lock()

    def _remember(self, table, user, response):
        with self.lock:
            table.setdefault(user, {})[id(response)] = response

    def after_response(self, ctx, response, case):
        method, path, headers, body = _sent(response)
        user = _path_user(path)
        status = response.status_code
        problem = _json(response)
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
        # The confirmation routes answer a browser with a page that names the problem type.
        page = PAGE_PROBLEM.search(response.content)
        if page is not None:
            kind = page.group(1).decode()
        replayed = any(v == "true" for v in _header(response, "Idempotent-Replayed"))
        email_route = method == "PUT" and path.endswith("/email")
        password_route = method == "POST" and path.endswith("/password")
        versioned_route = method == "PUT" and (path.endswith("/email") or path.endswith("/status"))
        confirmation_route = path.endswith("/email/confirmation")
        own = SELF_USER_ID != "" and user == SELF_USER_ID

        # What the server keeps, as the server decides it (shared/src/idempotency): an
        # answer is stored for a 2xx that was no replay; the fingerprint is the method,
        # path, If-Match, Content-Type and body (passwords are verified, not compared: a
        # different password differs here too).
        key = headers.get("Idempotency-Key")
        # The body as sent, byte for byte, as the server fingerprints it: two JSON bodies
        # with their keys in another order are two requests.
        raw = response.request.body
        raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        request = json.dumps(
            [method, path, headers.get("Content-Type"), headers.get("If-Match"), raw]
        )
        stored_for_others = burned = False
        if key is not None:
            with self.lock:
                stored = self.stored.setdefault((key, user), set())
                stored_for_others = bool(stored - {request})
                if 200 <= status < 300 and not replayed:
                    stored.add(request)
                if status == 422 and kind == "idempotency-key-reuse" and password_route:
                    self.burned.add((key, user))
                burned = (key, user) in self.burned
        if email_route and status == 200 and not replayed and "pending_email_change" in problem:
            self._remember(self.mails, user, response)
        if password_route and status == 403 and kind == "invalid-current-password":
            self._remember(self.wrong_passwords, user, response)
        mails_sent = len(self.mails.get(user, ()))
        wrong_passwords = len(self.wrong_passwords.get(user, ()))

        meta = case.meta
        if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
            return None
        if 200 <= status < 300 or status >= 500:
            return None
        errors = {(e.get("field"), e.get("code")) for e in problem.get("errors", []) if isinstance(e, dict)}
        codes = {code for _, code in errors}
        version = body.get("version") if isinstance(body, dict) else None
        if_match = headers.get("If-Match")
        current = problem.get("current_version")

        recognised = (
            (status in (403, 404) and not own)
            or (status == 403 and own and password_route and kind == "invalid-current-password")
            or (status == 403 and own and path.endswith("/status") and kind == "forbidden")
            or (status == 400 and "if-match-mismatch" in codes
                and if_match is not None and version is not None
                and not _same_version(if_match, version))
            or (status == 400 and kind == "password-policy" and password_route)
            or (status == 400 and password_route and own
                and errors == {("current_password", "required")}
                and isinstance(body, dict) and "current_password" not in body)
            or (status == 400 and len(errors) == 1 and _breaks_header_schema(errors, headers))
            or (status == 400 and kind == "invalid-token" and confirmation_route)
            or (status == 409 and kind == "version-conflict" and version is not None
                and if_match is None and not _same_version(version, current))
            or (status == 409 and kind == "idempotency-key-in-use" and key is not None)
            or (status == 412 and kind == "precondition-failed" and if_match is not None
                and not _same_version(if_match, current))
            or (status == 428 and kind == "precondition-required" and versioned_route
                and if_match is None and version is None)
            or (status == 422 and kind == "idempotency-key-reuse" and (stored_for_others or burned))
            or (status == 429 and kind == "too-many-attempts" and password_route and own
                and wrong_passwords >= 5)
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
