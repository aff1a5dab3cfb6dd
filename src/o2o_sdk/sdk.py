"""The :class:`O2O` facade: one object per shop, owning its plugins, storage and signer."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from .adapters import Adapters
from .analytics import Analytics
from .checkin import Checkins
from .clock import Clock, SystemClock
from .config import Config
from .converter import make_converter
from .errors import ConfigurationError
from .followups import Followups
from .journal import Journal
from .models import JournalEvent
from .offers import Offers
from .orders import Orders
from .pickups import Pickups
from .plugins import PluginHost
from .stores import Stores

__all__ = ["O2O"]

log = logging.getLogger("o2o_sdk")


class O2O:
    """An o2o-sdk instance.

    ::

        sdk = O2O(database_url="sqlite:///shop.db", base_url="https://shop.example")
        sdk = O2O(Config.from_env())

    Keyword arguments override fields of ``config`` (which defaults to
    :meth:`Config.from_env`). ``plugins`` are registered on this instance only. Nothing is
    global: two instances in one process are fully independent.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        clock: Clock | None = None,
        plugins: Iterable[object] = (),
        **overrides: Any,
    ) -> None:
        if config is None:
            config = Config.from_env(**overrides)
        elif overrides:
            import attrs

            try:
                config = attrs.evolve(config, **overrides)
            except TypeError as exc:
                raise ConfigurationError(f"Unknown configuration: {exc}") from None
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.converter = make_converter()
        self.plugins = PluginHost(config)
        self.plugins.load_entrypoints()
        for plugin in plugins:
            self.plugins.register(plugin)
        storage = self.plugins.provide_storage(config.database_url, self.converter)
        if storage is None:
            raise ConfigurationError(
                f"No storage plugin handles {config.database_url.split(':', 1)[0]!r} URLs;"
                " use sqlite:///path or postgresql://…"
            )
        self.storage = storage
        auto = config.auto_migrate if config.auto_migrate is not None else storage.dialect_name == "sqlite"
        if auto:
            storage.migrate()
        else:
            storage.check_schema()
        signer = self.plugins.provide_signer(config, storage)
        if signer is None:
            raise ConfigurationError("No plugin provides a token signer.")
        self.signer = signer
        self.journal = Journal(self)
        self.stores = Stores(self)
        self.offers = Offers(self)
        self.checkins = Checkins(self)
        self.orders = Orders(self)
        self.adapters = Adapters(self)
        self.analytics = Analytics(self)
        self.followups = Followups(self)
        self.pickups = Pickups(self)

    def _emit(self, events: Sequence[JournalEvent]) -> None:
        for event in events:
            self.plugins.journal_event(self, event)

    def close(self) -> None:
        """Close database connections (and the adapters' HTTP clients)."""
        self.followups.close()
        self.adapters.close()
        self.storage.close()

    def __enter__(self) -> O2O:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<O2O {self.storage.dialect_name} {self.config.base_url}>"
