"""argv parsing shaped like cobra's: `--f v`, `--f=v`, `-s v`, bool flags, repeatable flags,
`--` ends the flags. The flag tables list the real flags of each command (pulumi/pulumi
pkg/cmd/pulumi/operations/{preview,up,refresh,destroy}.go, stack/*.go, config/config.go,
cancel/cancel.go, pulumi.go for the global ones); anything else fails as cobra does."""

from .errors import CliError

V, B, M = "value", "bool", "multi"

GLOBAL = {"non-interactive": B, "color": V, "cwd": V, "verbose": V, "logtostderr": B, "logflow": B,
          "tracing": V, "disable-integrity-checking": B, "fully-qualify-stack-names": B,
          "profiling": V, "memprofilerate": V, "emoji": B}
GLOBAL_SHORT = {"C": "cwd", "v": "verbose", "Q": "fully-qualify-stack-names", "e": "emoji"}

_ENGINE = {"message": V, "target": M, "exclude": M, "target-dependents": B, "exclude-dependents": B,
           "parallel": V, "expect-no-changes": B, "exec-kind": V, "exec-agent": V, "event-log": V,
           "stack": V, "diff": B, "suppress-outputs": B, "suppress-progress": B,
           "suppress-permalink": V, "config-file": V, "json": B, "debug": B, "client": V,
           "show-replacement-steps": B, "show-sames": B, "show-reads": B, "urns": B, "config": M,
           "config-path": B, "policy-pack": M, "policy-pack-config": M, "run-program": B,
           "skip-config-validation": B, "skip-plugin-pre-install": B, "neo": B}
_ENGINE_SHORT = {"m": "message", "t": "target", "x": "exclude", "p": "parallel", "s": "stack",
                 "j": "json", "d": "debug", "c": "config"}
_CONFIRM = {"yes": B, "skip-preview": B}
_CONFIRM_SHORT = {"y": "yes", "f": "skip-preview"}

COMMANDS = {
    ("version",): ({}, {}),
    ("whoami",): ({"json": B}, {"j": "json"}),
    ("cancel",): ({"yes": B, "stack": V}, {"y": "yes", "s": "stack"}),
    ("stack", "select"): ({"stack": V, "create": B, "secrets-provider": V}, {"s": "stack", "c": "create"}),
    ("stack", "init"): ({"stack": V, "secrets-provider": V, "no-select": B, "copy-config-from": V,
                         "teams": M}, {"s": "stack"}),
    ("stack", "rm"): ({"yes": B, "force": B, "stack": V, "preserve-config": B, "remove-backups": B},
                      {"y": "yes", "f": "force", "s": "stack"}),
    ("stack", "ls"): ({"json": B, "all": B, "organization": V, "project": V, "tag": V},
                      {"j": "json", "a": "all", "o": "organization", "p": "project", "t": "tag"}),
    ("stack", "output"): ({"json": B, "show-secrets": B, "stack": V, "shell": B},
                          {"j": "json", "s": "stack"}),
    ("stack", "history"): ({"json": B, "show-secrets": B, "page-size": V, "page": V, "stack": V,
                            "full-dates": B}, {"j": "json", "s": "stack"}),
    ("stack", "export"): ({"stack": V, "file": V, "show-secrets": B, "version": V}, {"s": "stack"}),
    ("stack", "import"): ({"stack": V, "file": V, "force": B}, {"s": "stack", "f": "force"}),
    ("config",): ({"json": B, "show-secrets": B, "stack": V, "config-file": V, "open": B},
                  {"j": "json", "s": "stack"}),
    ("config", "get"): ({"path": B, "json": B, "stack": V, "config-file": V, "open": B},
                        {"j": "json", "s": "stack"}),
    ("config", "set"): ({"path": B, "plaintext": B, "secret": B, "stack": V, "config-file": V, "type": V},
                        {"s": "stack"}),
    ("config", "set-all"): ({"path": B, "plaintext": M, "secret": M, "stack": V, "json": V,
                             "config-file": V}, {"s": "stack"}),
    ("config", "rm"): ({"path": B, "stack": V, "config-file": V}, {"s": "stack"}),
    ("preview",): (dict(_ENGINE, **{"save-plan": V, "show-secrets": B, "import-file": V, "refresh": B,
                                    "replace": M, "target-replace": M}),
                   dict(_ENGINE_SHORT, r="refresh")),
    ("up",): (dict(_ENGINE, **_CONFIRM, **{"refresh": B, "replace": M, "target-replace": M, "plan": V,
                                          "strict": B, "continue-on-error": B, "show-secrets": B,
                                          "attach-debugger": M}),
              dict(_ENGINE_SHORT, **_CONFIRM_SHORT, r="refresh")),
    ("refresh",): (dict(_ENGINE, **_CONFIRM, **{"preview-only": B, "clear-pending-creates": B,
                                               "skip-pending-creates": B, "import-pending-creates": M}),
                   dict(_ENGINE_SHORT, **_CONFIRM_SHORT)),
    ("destroy",): (dict(_ENGINE, **_CONFIRM, **{"preview-only": B, "remove": B, "continue-on-error": B,
                                               "exclude-protected": B, "refresh": B}),
                   dict(_ENGINE_SHORT, **_CONFIRM_SHORT, r="refresh")),
}


def _is_prefix(words):
    return any(k[: len(words)] == words for k in COMMANDS)


def parse(argv):
    """Returns (command tuple, flags dict, positional list)."""
    flags, positional, words = {}, [], []
    spec, short = dict(GLOBAL), dict(GLOBAL_SHORT)
    cmd = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            positional.extend(argv[i + 1:])
            break
        if a.startswith("-") and a != "-":
            if a.startswith("--"):
                name, eq, val = a[2:].partition("=")
                if name not in spec:
                    raise CliError("unknown flag: --" + name, "config")
            else:
                letter, eq, val = a[1:2], "=" if len(a) > 2 else "", a[2:].lstrip("=")
                if letter not in short:
                    raise CliError("unknown shorthand flag: '%s' in %s" % (letter, a), "config")
                name = short[letter]
            kind = spec[name]
            if kind == B:
                flags[name] = (val or "true") == "true"
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise CliError("flag needs an argument: " + a, "config")
                    val = argv[i]
                if kind == M:
                    flags.setdefault(name, []).append(val)
                else:
                    flags[name] = val
        elif cmd is None or (not positional and tuple(words + [a]) in COMMANDS):
            words.append(a)
            key = tuple(words)
            if key in COMMANDS:
                cmd = key
                spec.update(COMMANDS[key][0])
                short.update(COMMANDS[key][1])
            elif not _is_prefix(key):
                raise CliError('unknown command "%s" for "pulumi"' % " ".join(words), "config")
        else:
            positional.append(a)
        i += 1
    if cmd is None:
        raise CliError('unknown command "%s" for "pulumi"' % " ".join(words), "config")
    return cmd, flags, positional
