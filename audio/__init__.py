"""Sound input and on-device speech recognition (no Qt, no network).

Modules, one job each:

* ``chunks``     the bounded, drop-oldest queue between an audio callback and a worker
* ``levels``     loudness (dBFS) and speech activity -> ``level`` events
* ``recognizer`` one Vosk recogniser per channel -> ``utterance`` events
* ``wavfile``    WAV files as a source (as fast as possible, or paced like a live call)
* ``devices``    input devices (PortAudio, plus PulseAudio/PipeWire sources on Linux)
* ``capture``    supervised live capture that survives a device coming and going
* ``pipeline``   wires sources, per-channel workers and the event output together
* ``models``     the Vosk model catalog, discovery and installer

``vosk`` and ``sounddevice`` are imported lazily, where they are first needed.
"""

import agent_assist  # noqa: F401  first: switches third-party telemetry off (agent_assist.egress)
