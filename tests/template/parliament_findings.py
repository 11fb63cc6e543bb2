"""Runs parliament (AWS IAM policy linter, PyPI `parliament`) on policy documents.

Stands in for nothing: it is the real linter, driven through its Python API so that several
documents can be checked in one process. Input (stdin): {"<name>": <policy document>, ...}.
Output (stdout): {"<name>": [{"issue", "severity", "title", "detail", "location"}, ...]}, every
finding of the default and the community auditors, INFO included (the Rust test decides).
"""

import json
import sys
from pathlib import Path

import parliament
from parliament import analyze_policy_string, enhance_finding, override_config
from parliament import statement as _statement

# What `parliament --include-community-auditors` does before analyzing (parliament/cli.py).
override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")

# parliament 1.6.4 ships Service Authorization Reference data newer than its own type table:
# events:TargetArn is typed "ArrayOfARN", which `translate_documentation_types` rejects with an
# exception. It already maps "ArrayOfString" to "String"; map the other "ArrayOf<T>" types to
# <T> the same way, so the statement is analyzed instead of crashing the linter.
_translate = _statement.translate_documentation_types


def _translate_arrays(kind):
    if isinstance(kind, str) and kind.startswith("ArrayOf") and kind != "ArrayOfString":
        kind = kind[len("ArrayOf"):]
    return _translate(kind)


_statement.translate_documentation_types = _translate_arrays


def findings(document):
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    out = []
    for f in policy.findings:
        f = enhance_finding(f)
        out.append(
            {
                "issue": f.issue,
                "severity": f.severity,
                "title": f.title,
                "detail": f.detail,
                "location": f.location,
            }
        )
    return out


def main():
    documents = json.load(sys.stdin)
    result = {name: findings(doc) for name, doc in documents.items()}
    json.dump({"parliament": parliament.__version__, "findings": result}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
