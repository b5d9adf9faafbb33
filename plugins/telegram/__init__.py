"""The ``telegram`` plugin: the ``telegram`` log sink, which sends events at or above a level to
a Telegram chat through the Bot API (batched, split to the message limit, escaped, rate-limit
aware, never blocking the app).
"""

from __future__ import annotations

from mega import PluginRegistry, PluginSpec, hookimpl

from .sink import TelegramLogSink, TelegramLogSinkOptions

plugin = PluginSpec(
    name="telegram",
    description="A log sink sending events at or above a level to a Telegram chat",
    provides=("log-sink",),
)


@hookimpl
def mega_register(registry: PluginRegistry) -> None:
    registry.adapter_driver(
        "log-sink",
        "telegram",
        TelegramLogSink,
        options=TelegramLogSinkOptions,
        description="events at or above a level, sent to a Telegram chat through the Bot API",
    )


__all__ = ["TelegramLogSink", "TelegramLogSinkOptions", "plugin"]
