"""The `--stack` argument."""

from .errors import CliError


def stack_arg(flags, positional=None):
    s = flags.get("stack")
    if not s and positional:
        s = positional[0]
    if not s:
        # backenderr.NoStackSelectedError (pkg/backend/backenderr/backenderr.go).
        raise CliError("no stack selected; specify a stack name with --stack", "stack-not-found")
    parts = s.split("/")
    if len(parts) > 1 and parts[0] != "organization":
        # DIY stack references (pkg/backend/diy/store.go).
        raise CliError("organization name must be 'organization'")
    return parts[-1]
