"""The sans-I/O risk engine: mute-button and tone risks for one call, as ``flag`` events.

``RiskEngine.feed(event) -> list[Flag]``; time comes only from the events. Rules
live in TOML packs (``packs/en.toml`` is built in; a site pack extends it).
"""
