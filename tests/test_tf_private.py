"""converters.tf_private is the one module that touches TensorFlow's private names, and they are all there.

The rule (:func:`offences`), applied to every module in edgekit/, converters/, bench/ and targets/ but
converters/tf_private.py, on its code (docstrings and comments may name anything). A module touches a private
TensorFlow name when it has:

1. an import of a module under ``tensorflow.`` other than ``tensorflow.lite`` (the public ``tf.lite``):
   ``tensorflow.python...``, ``tensorflow.lite.python...``, ``tensorflow.lite.tools...``,
   ``tensorflow.compiler...`` and the rest are TensorFlow's internals; or a string constant naming one of TF's
   internal packages (``tensorflow.`` then ``python``, ``compiler``, ``core``, ``tsl`` or ``lite.`` and more),
   as ``importlib`` would be given it (a file name such as ``tensorflow.log`` is not one);
2. an identifier or string constant containing ``_pywrap`` or ``_py_generated``: TF's extension modules and its
   generated Python, loaded by name or by file;
3. an underscore-prefixed attribute (not a ``__dunder__``) read or written on a name bound to TensorFlow: ``tf``,
   ``tensorflow``, or any name the module imports from a ``tensorflow`` module (``lite._convert_saved_model``,
   ``lite.TFLiteConverterBase._set_original_model_type``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from converters import tf_private
from edgekit.errors import EdgekitError

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = ROOT / "converters" / "tf_private.py"
_PRIVATE_IMPORT = re.compile(r"^tensorflow\.(?!lite$)")
_PRIVATE_STRING = re.compile(r"^tensorflow\.(python|compiler|core|tsl|lite\.\w+)(\.|$)")
_EXTENSION = re.compile(r"_pywrap|_py_generated")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def offences(source: str) -> list[str]:
    """Each private TensorFlow name ``source`` touches, by the rule in this module's docstring."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    tf_names = {"tf", "tensorflow"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tensorflow":
                    tf_names.add((alias.asname or alias.name).split(".")[0])
                if _PRIVATE_IMPORT.match(alias.name) or _EXTENSION.search(alias.name):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "tensorflow":
                tf_names.update(a.asname or a.name for a in node.names)
            if _PRIVATE_IMPORT.match(node.module) or _EXTENSION.search(node.module):
                found.append(f"line {node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if _PRIVATE_STRING.match(node.value) or _EXTENSION.search(node.value):
                found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Name) and _EXTENSION.search(node.id):
            found.append(f"line {node.lineno}: {node.id}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and _root(node.value) in tf_names):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def _modules() -> list[Path]:
    return sorted(p for pkg in ("edgekit", "converters", "bench", "targets") for p in (ROOT / pkg).rglob("*.py"))


def test_only_tf_private_touches_private_tensorflow_names():
    assert ALLOWED in _modules()
    bad = {str(p.relative_to(ROOT)): hits for p in _modules() if p != ALLOWED and (hits := offences(p.read_text()))}
    assert not bad, f"private TensorFlow names outside converters/tf_private.py: {bad}"


@pytest.mark.parametrize("source", [
    "from tensorflow.lite.python import lite\nreal = lite._convert_saved_model",
    "def f(tf):\n    tf.lite.TFLiteConverterBase._set_original_model_type(1)",
    "from tensorflow.compiler.mlir.lite import types_pb2",
    "import tensorflow.lite.tools.flatbuffer_utils",
    'name = "_pywrap_converter_api"',
    'path = d / "lite" / "python" / "schema_py_generated.py"',
    'import importlib\nm = importlib.import_module("tensorflow.python.framework")',
])
def test_the_rule_catches_what_the_converters_did_before(source):
    """Each line is one of the offences that stood in converters/stages.py, tflite.py and tflite_bare.py before
    they moved to converters/tf_private.py."""
    assert offences(source)


def test_the_rule_lets_public_tensorflow_and_prose_pass():
    source = ('"""Uses ``tensorflow.lite.python`` and ``_pywrap_converter_api``, in prose."""\n'
              "import tensorflow as tf\nBACKENDS = ('tensorflow.lite', 'tensorflow')\nLOG = 'tensorflow.log'\n"
              "conv = tf.lite.TFLiteConverter.from_saved_model('x')\nother._private = 1  # not TensorFlow's\n")
    assert offences(source) == []


@pytest.mark.tf
def test_every_private_name_is_in_this_tensorflow(tf):
    """The check an upgrade starts with (converters/tf_private.py's docstring)."""
    tf_private.check()


@pytest.mark.tf
def test_a_name_that_moved_is_one_line(tf, monkeypatch):
    monkeypatch.setitem(tf_private.NAMES, "tensorflow.lite.python.lite._gone_in_this_version", "a test")
    with pytest.raises(EdgekitError) as err:
        tf_private.check()
    message = str(err.value)
    assert "\n" not in message and "tensorflow.lite.python.lite._gone_in_this_version is gone" in message
    assert f"TensorFlow {tf.__version__}" in message and "converters/tf_private.py" in message
