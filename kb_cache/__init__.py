"""The local knowledge cache (SQLite via sqlite-utils): schema, import, search, sync.

An adapter: it never imports Qt, audio or the marquee client.
"""

import agent_assist  # noqa: F401  first: switches third-party telemetry off (agent_assist.egress)
