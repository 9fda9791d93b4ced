"""``python -m agent_assist`` is the same as the ``agent-assist`` command."""

import sys

from agent_assist.cli import main

sys.exit(main())
