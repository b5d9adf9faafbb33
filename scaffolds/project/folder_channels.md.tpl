# apps/main/channels

WebSocket channels: topics clients join, events, presence across nodes.

New one: `mega g channel <Name>` (plugin `ws`, enabled in mega.toml's `[app] plugins`).
