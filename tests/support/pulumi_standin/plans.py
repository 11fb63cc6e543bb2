"""Update plans: `preview --save-plan=FILE` and `up --plan=FILE`.

File shape: apitype.DeploymentPlanV1 (sdk/go/common/apitype/plan.go) written by
pkg/cmd/pulumi/plan/plan.go: `{manifest, config, resourcePlans: {urn: {goal, steps, state,
seed}}}`, goal = GoalV1 `{type, name, custom, inputDiff{adds,deletes,updates}, outputDiff,
parent, protect, provider, …}` (omitted for a planned delete).
Simplified: no dependencies/propertyDependencies/aliases/timeouts in goals (the stand-in's
resources have none), no output diffs, and the stack's outputs are not checked against the plan.

Checking follows the engine: pkg/resource/deploy/step_generator.go (each step is checked
against the next planned op with ConstrainedTo, pkg/resource/deploy/step.go; goals with
ResourcePlan.checkGoal / checkMissingPlan / checkDiff, pkg/resource/deploy/plan.go) and
deployment_executor.go (planned ops never seen). The texts are the engine's.
"""

import base64
import hashlib
import json
import os

from . import timefmt
from .errors import CliError, version_string

ALLOWED = {"create": {"same", "create"}, "update": {"same", "update"},
           "replace": {"same", "update", "replace"},
           "create-replacement": {"same", "update", "create-replacement"},
           "delete-replaced": {"same", "update", "delete-replaced"}}


def constrained_to(op, constraint):
    return op in ALLOWED.get(constraint, {constraint})


def _diff(old, new):
    """PlanDiff between input maps (top-level keys, like resource.PropertyMap.Diff)."""
    old = old or {}
    adds = {k: v for k, v in new.items() if k not in old}
    updates = {k: v for k, v in new.items() if k in old and old[k] != v}
    deletes = sorted(k for k in old if k not in new)
    out = {}
    if adds:
        out["adds"] = adds
    if deletes:
        out["deletes"] = deletes
    if updates:
        out["updates"] = updates
    return out


def write(path, steps, config):
    """steps: [(op, urn, type, old_state, new_state)] of a successful preview."""
    plans = {}
    for op, urn, rtype, old, new in steps:
        rp = plans.setdefault(urn, {"steps": [], "state": None})
        rp["steps"].append(op)
        if op != "delete" and new is not None:
            rp["goal"] = {"type": rtype, "name": urn.rsplit("::", 1)[-1],
                          "custom": bool(new.get("custom")),
                          "inputDiff": _diff(None if op == "create" else (old or {}).get("inputs"),
                                             new.get("inputs") or {}),
                          "outputDiff": {}, "parent": new.get("parent", ""), "protect": False,
                          "provider": new.get("provider", "")}
            rp["seed"] = base64.b64encode(os.urandom(32)).decode()
    version = version_string()
    doc = {"manifest": {"time": timefmt.rfc3339nano(), "magic": hashlib.sha256(version.encode()).hexdigest(),
                        "version": version},
           "config": config or {}, "resourcePlans": plans}
    with open(path, "w") as f:
        json.dump(doc, f, indent=4)
        f.write("\n")


def _go(value):
    """resource.PropertyValue.String(): `{%v}` of the underlying value."""
    if isinstance(value, bool):
        return "{%s}" % ("true" if value else "false")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        return "{%s}" % json.dumps(value, sort_keys=True)
    return "{%s}" % value


def _make_error(plan_diff, key, actual_op, actual):
    adds, updates = plan_diff.get("adds") or {}, plan_diff.get("updates") or {}
    if key in adds:
        expected_op, expected = "+", adds[key]
    elif key in updates:
        expected_op, expected = "~", updates[key]
    elif key in (plan_diff.get("deletes") or []):
        expected_op, expected = "-", None
    else:
        expected_op, expected = "=", None
    text = ""
    if actual is not None and expected is not None:
        text = "[" + _go(expected) + "!=" + _go(actual) + "]"
    elif actual is not None:
        text = "[" + _go(actual) + "]"
    elif expected is not None:
        text = "[" + _go(expected) + "]"
    return expected_op + actual_op + key + text


def _check_diff(olds, news, plan_diff):
    """checkDiff (plan.go), on top-level keys."""
    olds = olds or {}
    adds, updates = plan_diff.get("adds") or {}, plan_diff.get("updates") or {}
    deletes = plan_diff.get("deletes") or []
    changes = []
    for k, v in news.items():
        if k not in olds:
            if k not in adds or adds[k] != v:
                changes.append(_make_error(plan_diff, k, "+", v))
        elif olds[k] != v:
            if (k in updates and updates[k] != v) or (k in adds and adds[k] != v) or (
                    k not in updates and k not in adds):
                changes.append(_make_error(plan_diff, k, "~", v))
    for k in olds:
        if k not in news and k not in deletes:
            changes.append(_make_error(plan_diff, k, "-", None))
    for k, expected in adds.items():
        if k not in news:
            changes.append(_make_error(plan_diff, k, "-", None))
        elif k in olds and olds[k] == news[k] and news[k] != expected:
            changes.append(_make_error(plan_diff, k, "=", news[k]))
    for k, expected in updates.items():
        if k not in news:
            changes.append(_make_error(plan_diff, k, "-", None))
        elif k not in olds:
            # An update was planned but the diff adds it: always a violation.
            changes.append(_make_error(plan_diff, k, "+", news[k]))
        elif olds[k] == news[k] and news[k] != expected:
            changes.append(_make_error(plan_diff, k, "=", news[k]))
    for k in deletes:
        if k in news:
            op = "+" if k not in olds else ("~" if olds[k] != news[k] else "=")
            changes.append(_make_error(plan_diff, k, op, news[k]))
    if changes:
        return "properties changed: " + ", ".join(sorted(set(changes)))
    return None


class Checker:
    def __init__(self, path):
        try:
            with open(path) as f:
                doc = json.load(f)
        except FileNotFoundError:
            raise CliError("open %s: no such file or directory" % path)
        except ValueError as e:
            raise CliError(str(e))
        self.plans = {urn: dict(rp, steps=list(rp.get("steps") or []))
                      for urn, rp in (doc.get("resourcePlans") or {}).items()}

    def check_goal(self, urn, old, new_inputs):
        """The program's goal against the plan, for a resource the program registers."""
        rp = self.plans.get(urn)
        if rp is None:
            if old is None:
                return None
            err = _check_diff(old.get("inputs"), new_inputs, {})
        elif rp.get("goal") is None:
            err = "resource unexpectedly not deleted"
        else:
            err = _check_diff(None if old is None else old.get("inputs"), new_inputs,
                              rp["goal"].get("inputDiff") or {})
        return "resource %s violates plan: %s" % (urn, err) if err else None

    def check_op(self, urn, op):
        rp = self.plans.get(urn)
        if rp is None:
            if not constrained_to(op, "same"):
                return "%s is not allowed by the plan: no steps were expected for this resource" % op
            return None
        if not rp["steps"]:
            return "%s is not allowed by the plan: no more steps were expected for this resource" % op
        constraint = rp["steps"].pop(0)
        if not constrained_to(op, constraint):
            return "%s is not allowed by the plan: this resource is constrained to %s" % (op, constraint)
        return None

    def leftovers(self, prev_urns):
        """Planned operations that never happened (a planned delete of something already gone
        is fine)."""
        out = []
        for urn, rp in sorted(self.plans.items()):
            if not rp["steps"]:
                continue
            if rp["steps"] == ["delete"] and urn not in prev_urns:
                continue
            out.append((urn, "expected resource operations for %s but none were seen" % urn))
        return out
