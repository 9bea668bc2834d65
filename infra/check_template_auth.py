"""Translates template.yaml offline for each value of ApiAuthorizer and checks each route's
authorizer in the HTTP API that comes out (infra/check-template.sh runs it).

`sam validate --lint` and cfn-lint never run SAM's translator, so they pass a template whose
authorizer SAM would refuse at deploy. This runs what `sam validate --language-extensions`
runs (SAM CLI's AWS::LanguageExtensions resolution, then the SAM translator), once per
parameter value, with no AWS call (no managed policy is looked up).
"""

import sys

import yaml
from samcli.lib.translate.sam_template_validator import SamTemplateValidator
from samcli.yamlhelper import yaml_parse

# The routes anyone may call: the confirmation token is the credential.
OPEN_ROUTES = {"/users/{user_id}/email/confirmation"}
EXPECTED = {"jwt": "JwtAuthorizer", "authorize": "RevocationAware"}


class NoManagedPolicies:
    def load(self):
        return {}


def routes(template_path, value):
    validator = SamTemplateValidator(
        yaml_parse(open(template_path).read()),
        NoManagedPolicies(),
        region="eu-central-1",
        parameter_overrides={"ApiAuthorizer": value},
        language_extensions_enabled=True,
    )
    translated = yaml.safe_load(validator.get_translated_template_if_valid())
    apis = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    if len(apis) != 1:
        raise SystemExit(f"expected one HTTP API, found {len(apis)}")
    for path, methods in apis[0]["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation.get("security")


# AWS::LanguageExtensions must resolve the !If before SAM's transform reads it.
TRANSFORMS = ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def main(template_path):
    failures = []
    transforms = yaml_parse(open(template_path).read()).get("Transform")
    if transforms != TRANSFORMS:
        failures.append(f"Transform is {transforms}, not {TRANSFORMS} (in that order)")
    for value, authorizer in EXPECTED.items():
        seen = 0
        for method, path, security in routes(template_path, value):
            seen += 1
            want = [{"NONE": []}] if path in OPEN_ROUTES else [{authorizer: []}]
            if security != want:
                failures.append(f"ApiAuthorizer={value}: {method} {path} has {security}, not {want}")
        if seen < 6:
            failures.append(f"ApiAuthorizer={value}: {seen} routes, expected 6")
    if failures:
        raise SystemExit("\n".join(failures))
    for value, authorizer in EXPECTED.items():
        print(f"ApiAuthorizer={value}: 6 routes, each behind {authorizer} or none (confirmation)")


if __name__ == "__main__":
    main(sys.argv[1])
