"""The local CTI bridge: softphones and CTI adapters push call and mute state to us.

``protocol`` is pure (messages in, events and replies out); ``bridge`` is the
websockets server on 127.0.0.1 that carries it. See docs/cti-bridge.md.
"""
