"""Evaluates identity-policy statements for requests, with principalmapper's local policy
simulator (PyPI `principalmapper`, NCC Group's PMapper).

What it models (principalmapper/querying/local_policy_simulation.py): matching Action and
Resource with `*`/`?` wildcards and policy variables, and the Condition operators (String*,
Arn*, Numeric*, Bool, Null, ...IfExists, ForAllValues:/ForAnyValue:) against the context keys we
pass. What it does not model, and the Rust side must supply or leave out: how AWS builds the
request context (which resources one API call authorizes, which condition keys are present for
each of them: see the callers in tests/template/evaluate.rs), SCPs, permissions boundaries,
session policies, resource and key policies, and tag propagation delays.

Input (stdin): {"policies": [<policy document>, ...],
                "requests": [{"id", "action", "resource", "context": {key: value|[values]}}]}
Output (stdout): [{"id", "decision": "allow"|"explicit_deny"|"implicit_deny",
                   "allowed_by": [sid, ...], "denied_by": [sid, ...]}]
"""

import collections
import collections.abc
import json
import sys

# principalmapper 1.1.5 imports Mapping/MutableMapping from `collections`, which Python 3.10
# removed (they live in collections.abc since 3.3); restore the old names before importing it.
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.querying.local_policy_simulation import (  # noqa: E402
    policy_has_matching_statement,
)
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402


def statements(policies):
    for doc in policies:
        stmts = doc["Statement"]
        for st in stmts if isinstance(stmts, list) else [stmts]:
            yield st


def evaluate(policies, request):
    context = CaseInsensitiveDict(request.get("context", {}))
    allowed_by, denied_by = [], []
    for st in statements(policies):
        one = {"Version": "2012-10-17", "Statement": [st]}
        for effect, hits in (("Allow", allowed_by), ("Deny", denied_by)):
            if policy_has_matching_statement(
                one, effect, request["action"], request["resource"], context
            ):
                hits.append(st.get("Sid", "?"))
    # Identity-policy logic: an explicit deny wins, then any allow, else the implicit deny.
    if denied_by:
        decision = "explicit_deny"
    elif allowed_by:
        decision = "allow"
    else:
        decision = "implicit_deny"
    return {
        "id": request["id"],
        "decision": decision,
        "allowed_by": allowed_by,
        "denied_by": denied_by,
    }


def main():
    data = json.load(sys.stdin)
    json.dump([evaluate(data["policies"], r) for r in data["requests"]], sys.stdout)


if __name__ == "__main__":
    main()
