"""The stack settings file `Pulumi.<stack>.yaml` and the choice of secrets manager.

pulumi/pulumi pkg/cmd/pulumi/stack/secrets.go (SecretsManagerLoader.GetSecretsManager):
  * `secretsprovider` other than ""/passphrase/default -> the cloud manager of that URL
    (its `encryptedkey` is reused, or a new one is made and saved);
  * else `encryptionsalt` -> the passphrase manager with that salt (wrong passphrase: the
    error "incorrect passphrase");
  * else, with PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true (sdk/go/common/env/env.go), the
    manager recorded in the checkpoint, written back into the file;
  * else the backend's default: a NEW passphrase manager for DIY (backend.go
    DefaultSecretManager), with a new salt saved into the file. A stack created with
    `awskms://…` and run from a fresh workspace is thus re-encrypted with the passphrase.
"""

import os

import yaml

from . import crypto
from .errors import CliError


def path(stack):
    return "Pulumi.%s.yaml" % stack


def load(stack):
    if os.path.exists(path(stack)):
        with open(path(stack)) as f:
            return yaml.safe_load(f) or {}
    return {}


def save(stack, settings):
    with open(path(stack), "w") as f:
        yaml.safe_dump(settings, f, sort_keys=True)


def _apply(settings, manager):
    """cloud.EditProjectStack / passphrase.EditProjectStack."""
    for k in ("secretsprovider", "encryptedkey", "encryptionsalt"):
        settings.pop(k, None)
    if manager.type == "cloud":
        settings["secretsprovider"] = manager.url
        settings["encryptedkey"] = manager.encrypted_key
    else:
        settings["encryptionsalt"] = manager.salt


def _is_cloud(provider):
    return provider not in (None, "", "passphrase", "default")


def for_new_stack(provider):
    """`stack init --secrets-provider` (createSecretsManagerForNewStack)."""
    if provider is None or provider in ("", "default", "passphrase"):
        return crypto.Passphrase.new()
    if "://" not in provider:
        raise CliError("unknown secrets provider type '%s'" % provider)
    return crypto.Cloud.new(provider)


# How the engine commands wrap a secrets-manager error (operations/up.go "getting stack
# configuration: %w", config/io.go getAndSaveSecretsManager "get stack secrets manager: %w");
# `config set` returns it unwrapped (config/config.go).
ENGINE_WRAP = "getting stack configuration: get stack secrets manager: "


def for_stack(settings, checkpoint, wrap=""):
    """(manager, settings_changed) for a command on an existing stack."""
    try:
        return _for_stack(settings, checkpoint)
    except crypto.IncorrectPassphrase:
        raise CliError(wrap + "incorrect passphrase")
    except CliError as e:
        raise CliError(wrap + str(e), e.kind)


def _for_stack(settings, checkpoint):
    before = {k: settings.get(k) for k in ("secretsprovider", "encryptedkey", "encryptionsalt")}
    provider = settings.get("secretsprovider")
    if _is_cloud(provider):
        if settings.get("encryptedkey"):
            manager = crypto.Cloud(provider, settings["encryptedkey"])
        else:
            manager = crypto.Cloud.new(provider)
    elif settings.get("encryptionsalt"):
        manager = crypto.Passphrase.open(settings["encryptionsalt"])
    else:
        fallback = None
        if os.environ.get("PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "").lower() in ("1", "true"):
            latest = (checkpoint or {}).get("checkpoint", {}).get("latest") or {}
            fallback = crypto.from_snapshot(latest.get("secrets_providers"))
            if isinstance(fallback, crypto.Locked):
                raise crypto.IncorrectPassphrase()
        manager = fallback or crypto.Passphrase.new()
    _apply(settings, manager)
    after = {k: settings.get(k) for k in ("secretsprovider", "encryptedkey", "encryptionsalt")}
    return manager, before != after
