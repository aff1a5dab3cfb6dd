"""Default signer: itsdangerous with key ids and rotation.

Keys come from ``O2O_SECRET_KEYS``. Without configured keys, one random key is generated on
first use and kept in the database (meta key ``signing_key``) — zero-setup for the embedded
default and demos; production sets ``O2O_SECRET_KEYS``.
"""

from __future__ import annotations

import secrets

from ..config import Config
from ..hookspecs import hookimpl
from ..storage import Storage
from ..tokens import KeyringSigner, SigningKey, TokenSigner

GENERATED_KEY = "signing_key"


@hookimpl(trylast=True)
def o2o_provide_signer(config: Config, storage: Storage) -> TokenSigner | None:
    keys = list(config.secret_keys)
    if not keys:
        secret = storage.set_meta_if_absent(GENERATED_KEY, secrets.token_urlsafe(32))
        keys = [SigningKey("0", secret.encode())]
    return KeyringSigner(keys)
