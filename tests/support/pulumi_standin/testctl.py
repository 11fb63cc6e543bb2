"""`pulumi-standin __standin …`: test-only controls, never a pulumi command.

  __standin cloud list                      every physical resource, JSON
  (drift and delete take `--stack <name>` to match only that stack's resources)
  __standin cloud drift <selector> <prop>=<value>
                                            an out-of-band change (value parsed as JSON if it
                                            parses, else a string); selector = URN, logical
                                            name or ID
  __standin cloud delete <selector>         an out-of-band deletion
  __standin identify                        prints `pulumi-standin` (byoc's simulated engine,
                                            BYOC_EXECUTOR=simulated, checks with it that it runs
                                            this stand-in, never a real pulumi CLI)
The cloud is found from PULUMI_STANDIN_CLOUD, else PULUMI_BACKEND_URL (or --backend <url>).
"""

import json
import os
import sys

from .blobs import open_bucket
from .cloud import Cloud, parse_value


IDENTITY = "pulumi-standin"


def main(args):
    if args == ["identify"]:
        print(IDENTITY)
        return 0
    if "--backend" in args:
        i = args.index("--backend")
        os.environ["PULUMI_BACKEND_URL"] = args[i + 1]
        args = args[:i] + args[i + 2:]
    stack = None
    if "--stack" in args:
        i = args.index("--stack")
        stack = args[i + 1]
        args = args[:i] + args[i + 2:]
    if len(args) < 2 or args[0] != "cloud":
        sys.stderr.write(__doc__)
        return 2
    bucket = None
    if not os.environ.get("PULUMI_STANDIN_CLOUD"):
        bucket, _ = open_bucket(os.environ.get("PULUMI_BACKEND_URL"))
    cloud = Cloud(bucket)
    action, rest = args[1], args[2:]
    if action == "list":
        print(json.dumps(cloud.all(), indent=2))
        return 0
    if action == "drift" and len(rest) == 2 and "=" in rest[1]:
        prop, _, raw = rest[1].partition("=")
        hits = cloud.drift(rest[0], prop, parse_value(raw), stack)
    elif action == "delete" and len(rest) == 1:
        hits = cloud.select(rest[0], stack)
        for r in hits:
            cloud.delete(r["type"], r["id"])
    else:
        sys.stderr.write(__doc__)
        return 2
    if not hits:
        sys.stderr.write("no cloud resource matches %r\n" % rest[0])
        return 1
    print(json.dumps(hits, indent=2))
    return 0
