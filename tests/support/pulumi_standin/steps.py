"""What an operation will do to each resource: the stand-in's step generator.

Simplified against pulumi/pulumi pkg/resource/deploy/step_generator.go: program order instead
of a dependency graph, no default providers, no replacements (a changed input is an update),
and inputs compared as written in the program.
"""

from . import physical, program


class Step:
    def __init__(self, op, urn, rtype, old, new, diffs=None, options=None, detailed=None):
        self.op, self.urn, self.rtype = op, urn, rtype
        self.old, self.new = old, new
        self.diffs, self.detailed = diffs, detailed
        self.options = options or {}
        self.result = op  # refresh steps: the op the refresh turned out to be

    @property
    def name(self):
        return self.urn.rsplit("::", 1)[-1]


def _changed(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def update_steps(project, stack, resources):
    """Steps of `up`/`preview` (creates, updates, sames, then deletes in reverse)."""
    root = program.stack_urn(project, stack)
    out, desired = [], set()
    for urn, rtype, name, props, options in program.resources(project, stack):
        desired.add(urn)
        prev = resources.get(urn)
        new = {"urn": urn, "custom": rtype not in physical.COMPONENTS, "type": rtype,
               "parent": root, "provider": "", "inputs": props}
        if prev is None:
            out.append(Step("create", urn, rtype, None, new, options=options))
            continue
        new = dict(prev, inputs=props)
        new["outputs"] = dict(prev.get("outputs") or {}, **props)
        diffs = _changed(prev.get("inputs") or {}, props)
        out.append(Step("update" if diffs else "same", urn, rtype, prev, new if diffs else prev,
                        diffs=diffs, options=options))
    order = [r for r in resources.values() if r["type"] != "pulumi:pulumi:Stack" and r["urn"] not in desired]
    for r in reversed(order):
        out.append(Step("delete", r["urn"], r["type"], r, None))
    return out


def refresh_steps(resources, order, cloud):
    """Refresh: read every resource from the (fake) cloud. Missing -> delete; different ->
    update with a detailedDiff of the changed properties, framed as changes flowing from the
    provider into the state (step.go RefreshStep.Apply inverts the diff)."""
    out = []
    for urn in order:
        r = resources.get(urn)
        if r is None or r["type"] == "pulumi:pulumi:Stack":
            continue
        step = Step("refresh", urn, r["type"], r, r)
        if physical.is_cloud_resource(r["type"]):
            record = cloud.get(r["type"], r.get("id", ""))
            if record is None:
                step.result, step.new = "delete", None
            else:
                live = record["properties"]
                diffs = _changed(r.get("inputs") or {}, live)
                if diffs:
                    old_inputs = r.get("inputs") or {}
                    step.detailed = {k: {"diffKind": "add" if k not in old_inputs else
                                         ("delete" if k not in live else "update"), "inputDiff": False}
                                     for k in diffs}
                    step.diffs = diffs
                    step.result = "update"
                    step.new = dict(r, inputs=dict(live), outputs=dict(live, id=r.get("id")))
                else:
                    step.result = "same"
        else:
            step.result = "same"
        out.append(step)
    return out


def destroy_steps(resources, order):
    return [Step("delete", u, resources[u]["type"], resources[u], None)
            for u in reversed(order) if u in resources and resources[u]["type"] != "pulumi:pulumi:Stack"]
