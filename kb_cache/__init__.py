"""The local knowledge cache (SQLite via sqlite-utils): schema, import, search, sync.

An adapter: it never imports Qt, audio or the marquee client.
"""
