"""Entry point: parse argv, record the invocation, dispatch, map errors to exit codes."""

import json
import os
import pwd
import signal
import sys

from . import argv as argv_mod
from . import cmd_config, cmd_stack, cmd_state, testctl
from .errors import CliError, exit_code, version_string
from .operations import cmd_engine
from .program import load_project


def record(argv, stdin_read):
    """PULUMI_STANDIN_RECORD=<file>: one JSON line per invocation (argv, whether stdin was
    read, cwd, the environment's variable names, pid)."""
    path = os.environ.get("PULUMI_STANDIN_RECORD")
    if not path:
        return
    line = json.dumps({"argv": argv, "stdin_read": stdin_read, "cwd": os.getcwd(),
                       "env": sorted(os.environ.keys()), "pid": os.getpid()})
    with open(path, "a") as f:
        f.write(line + "\n")


def _read_stdin_value(cmd, positional):
    # pkg/cmd/pulumi/config/config.go: one argument and a non-terminal stdin -> the value is
    # stdin read to EOF (also with --non-interactive), one trailing newline trimmed.
    if cmd != ("config", "set") or len(positional) != 1 or os.isatty(0):
        return None
    value = sys.stdin.read()
    if value.endswith("\n"):
        value = value[:-1]
        if value.endswith("\r"):
            value = value[:-1]
    return value


DISPATCH = {
    ("stack", "select"): cmd_stack.stack_select,
    ("stack", "init"): cmd_stack.stack_init,
    ("stack", "rm"): cmd_stack.stack_rm,
    ("stack", "ls"): cmd_stack.stack_ls,
    ("stack", "output"): cmd_stack.stack_output,
    ("stack", "history"): cmd_stack.stack_history,
    ("stack", "export"): cmd_state.stack_export,
    ("stack", "import"): cmd_state.stack_import,
    ("cancel",): cmd_stack.cancel,
    ("config",): cmd_config.config_all,
    ("config", "get"): cmd_config.config_get,
    ("config", "set-all"): cmd_config.config_set_all,
    ("config", "rm"): cmd_config.config_rm,
}


def main(argv):
    # Until an engine run installs its cancellation scope, SIGINT ends the process at once, as
    # for any Go program (no KeyboardInterrupt unwinding that would release a lock).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if argv[:1] == ["__standin"]:
        return testctl.main(argv[1:])
    stdin_value = None
    try:
        cmd, flags, positional = argv_mod.parse(argv)
        stdin_value = _read_stdin_value(cmd, positional)
    except CliError as e:
        record(argv, False)
        sys.stderr.write("error: %s\n" % e)
        return exit_code(e)
    record(argv, stdin_value is not None)
    try:
        if not flags.get("non-interactive") or argv[0] != "--non-interactive":
            raise CliError("the stand-in requires --non-interactive as the first argument", "config")
        if flags.get("cwd"):
            os.chdir(flags["cwd"])
        if cmd == ("version",):
            print(version_string())
            return 0
        if cmd == ("whoami",):
            # DIY CurrentUser (backend.go): the OS account's name.
            print(pwd.getpwuid(os.getuid()).pw_name)
            return 0
        project = load_project()
        if cmd == ("config", "set"):
            return cmd_config.config_set(flags, positional, project, stdin_value)
        if cmd in DISPATCH:
            return DISPATCH[cmd](flags, positional, project)
        return cmd_engine(cmd[0], flags, positional, project)
    except CliError as e:
        if not e.bail:
            sys.stderr.write("error: %s\n" % e)
        return exit_code(e)
