"""Validates a JSON document (stdin) against pulumi's state JSON Schemas.

  pulumi_schema.py SCHEMA_DIR
The schemas are pulumi/pulumi sdk/go/common/apitype/{deployments,resources,property-values}.json
(copied to the shared fixtures as *.schema.json); `deployments` describes `pulumi stack export`
documents. Prints every error and exits 1 if there is one. Used by tests/standin.rs.
"""

import json
import os
import sys

import jsonschema
import referencing

NAMES = ("deployments", "resources", "property-values")


def main(schema_dir):
    schemas = {}
    for name in NAMES:
        with open(os.path.join(schema_dir, name + ".schema.json")) as f:
            schemas[name] = json.load(f)
    # The schema files predate two ResourceV3 fields the CLI writes (apitype/core.go:
    # `created`, `modified`, RFC 3339 times, omitempty).
    props = schemas["resources"]["$defs"]["resourceV3"]["properties"]
    for field in ("created", "modified"):
        props.setdefault(field, {"type": "string", "format": "date-time"})
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in schemas.values())
    validator = jsonschema.Draft202012Validator(schemas["deployments"], registry=registry)
    errors = sorted(validator.iter_errors(json.load(sys.stdin)), key=lambda e: list(e.path))
    for e in errors:
        print("%s: %s" % ("/".join(str(p) for p in e.path), e.message))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
