"""CLI errors and the exit code each one produces."""

import os

DEFAULT_VERSION = "v3.205.0"

# pulumi/pulumi pkg/cmd/pulumi/cmd/exit_codes.go (CLI >= 3.227.0, CHANGELOG 2026-03-19). Older
# CLIs exit with -1 (255) for every error (sdk/go/common/util/cmdutil/exit.go before 3.227).
EXIT_CODES = {
    "generic": 1,
    "config": 2,
    "auth": 3,
    "stack-not-found": 6,
    "no-changes": 7,
    "cancelled": 8,
}
TAXONOMY_SINCE = (3, 227, 0)


class CliError(Exception):
    """A failure of the command. `kind` picks the exit code; `bail` errors print nothing on
    stderr because the engine already reported them as diagnostics (result.BailError,
    pkg/cmd/pulumi/cmd/cmd.go DisplayErrorMessage)."""

    def __init__(self, message, kind="generic", bail=False, code=None):
        super().__init__(message)
        self.kind = kind
        self.bail = bail
        self.code = code


def version_string():
    return os.environ.get("PULUMI_STANDIN_VERSION", DEFAULT_VERSION)


def version_tuple():
    text = version_string().lstrip("v").split("-")[0]
    try:
        return tuple(int(p) for p in text.split(".")[:3])
    except ValueError:
        return (0, 0, 0)


def exit_code(err):
    if err.code is not None:
        return err.code
    if version_tuple() >= TAXONOMY_SINCE:
        return EXIT_CODES.get(err.kind, 1)
    return 255


PASSPHRASE_MISSING = ("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                      "PULUMI_CONFIG_PASSPHRASE_FILE environment variables")
# pulumi/pulumi pkg/secrets/passphrase/manager.go errorCrypter (a locked manager, used when the
# snapshot's salt does not match the passphrase).
DECRYPT_INCORRECT = ("failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to "
                     "the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing "
                     "the passphrase")
NON_INTERACTIVE_YES = ("--yes or --skip-preview or --preview-only must be passed in to proceed when "
                       "running in non-interactive mode")
