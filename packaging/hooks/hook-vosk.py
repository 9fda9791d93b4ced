"""PyInstaller hook for vosk 0.3.45 (ours: pyinstaller-hooks-contrib has none).

vosk's wheel ships its native library inside the package folder and opens it
with cffi at import time from ``os.path.dirname(vosk.__file__)``:
``libvosk.so`` (Linux), ``libvosk.dll`` plus the MinGW runtime DLLs beside it
(Windows) and ``libvosk.dyld`` (macOS; note the unusual suffix, which
``collect_dynamic_libs`` does not match). So every library file goes to
``vosk/`` in the bundle, next to where the frozen ``vosk/__init__`` says it is.
"""

from pathlib import Path

from PyInstaller.utils.hooks import collect_dynamic_libs, get_package_paths

_, _package_dir = get_package_paths("vosk")
_libs = {(src, dest) for src, dest in collect_dynamic_libs("vosk")}
for _lib in Path(_package_dir).glob("libvosk.*"):
    _libs.add((str(_lib), "vosk"))
binaries = sorted(_libs)

# The cffi out-of-line module imports the compiled backend by name only.
hiddenimports = ["_cffi_backend"]
# The command-line transcriber is not used by Agent Assist.
excludedimports = ["vosk.transcriber"]
