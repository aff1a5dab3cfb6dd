"""The public API is exactly what ``o2o_sdk`` exports, and every export is documented."""

from __future__ import annotations

import inspect
from importlib import metadata

import pytest

import o2o_sdk

EXPORTS = sorted(set(o2o_sdk.__all__) - {"__version__"})
DOCUMENTABLE = [n for n in EXPORTS if inspect.isclass(getattr(o2o_sdk, n, None)) or inspect.isfunction(getattr(o2o_sdk, n, None))]


def test_all_has_no_duplicates() -> None:
    assert len(o2o_sdk.__all__) == len(set(o2o_sdk.__all__))


@pytest.mark.parametrize("name", EXPORTS)
def test_every_exported_name_exists(name: str) -> None:
    assert hasattr(o2o_sdk, name)


@pytest.mark.parametrize("name", DOCUMENTABLE)
def test_every_exported_class_and_function_has_a_docstring(name: str) -> None:
    obj = getattr(o2o_sdk, name)
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    assert doc and doc.strip(), f"o2o_sdk.{name} has no docstring of its own"


def test_every_public_class_or_function_of_the_package_root_is_exported() -> None:
    public = {
        name for name, obj in vars(o2o_sdk).items()
        if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
    }  # fmt: skip
    assert public - set(o2o_sdk.__all__) == set()


def test_hookimpl_marks_o2o_sdk_hooks() -> None:
    import pluggy

    assert isinstance(o2o_sdk.hookimpl, pluggy.HookimplMarker)
    assert o2o_sdk.hookimpl.project_name == "o2o_sdk"


def test_the_version_is_the_distributions() -> None:
    assert o2o_sdk.__version__ == metadata.version("o2o-sdk")
