"""Schemathesis hooks for infra/check-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Schemathesis 4.32.5's coverage phase can label a case positive while one of its parts was
generated negative: seen as `If-Match: 0` (a type mutation of the header, whose schema is a
quoted version) in an "Example value" case of the path parameter. Its positive-data check
then reports the API's 400 for that header as a valid request rejected. Such a case is
negative data, so it is labelled negative: the negative-data check then judges it.
"""

import schemathesis
from schemathesis.generation.modes import GenerationMode


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.POSITIVE:
        if any(info.mode == GenerationMode.NEGATIVE for info in meta.components.values()):
            meta.generation.mode = GenerationMode.NEGATIVE
    return case
