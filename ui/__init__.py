"""PySide6 widgets: thin views driven by events that arrive through Qt signals."""

import agent_assist  # noqa: F401  first: switches third-party telemetry off (agent_assist.egress)
