"""The package surface: imports, help, lowlevel, no VM needed."""

from __future__ import annotations

import pydoc

import pytest

import smolvm
from smolvm import lowlevel


@pytest.mark.novm
def test_public_names_and_docs() -> None:
    for name in smolvm.__all__:
        assert hasattr(smolvm, name), name
    text = pydoc.render_doc(smolvm.SmolVM, renderer=pydoc.plaintext)
    for word in ("run(", "stream(", "put_file(", "expose(", "from_id(", "disposable"):
        assert word in text, word
    assert smolvm.__version__.count(".") == 2


@pytest.mark.novm
def test_error_hierarchy() -> None:
    assert issubclass(smolvm.TimeoutError, TimeoutError)
    for cls in (smolvm.ConfigError, smolvm.NotFoundError, smolvm.VMStateError,
                smolvm.TimeoutError, smolvm.UnsupportedError, smolvm.CommandError):
        assert issubclass(cls, smolvm.SmolVMError)
    assert not issubclass(smolvm.SmolVMError, RuntimeError)


@pytest.mark.novm
def test_lowlevel_errors_are_reported() -> None:
    opts = lowlevel.smolvm_swig_vm_opts_new()
    try:
        rc = lowlevel.smolvm_swig_vm_opts_set_u32(opts, "memory", 1)
        assert rc == lowlevel.SMOLVM_EINVAL
        assert lowlevel.smolvm_swig_last_status() == lowlevel.SMOLVM_EINVAL
        assert "'memory': unknown integer field" in lowlevel.smolvm_swig_last_error()
    finally:
        lowlevel.smolvm_swig_vm_opts_free(opts)
    assert lowlevel.smolvm_status_str(lowlevel.SMOLVM_ENOTFOUND) == "ENOTFOUND"
