"""Supervisor announcements: ``protocol`` (pure), ``server`` and ``client`` (websockets)."""
