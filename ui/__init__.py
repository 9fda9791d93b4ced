"""PySide6 widgets: thin views driven by events that arrive through Qt signals."""
