"""The reader accepts text of any LLVM 14-22 syntax and raw or wrapped bitcode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import llvmlite.binding as llvm
import pytest
from oracles import FIXTURES, fixture_id, fixture_modules, llvm_as_14

from llvm_to_air import CompileError
from llvm_to_air.bitcode_wrapper import wrap_bitcode
from llvm_to_air.ir import downgrade, read_module
from llvm_to_air.ir.fastpath import FastPath
from llvm_to_air.ir.parser import parse_module
from llvm_to_air.ir.reader import decode_input, normalize_with_llvmlite
from llvm_to_air.ir.types import PointerType
from llvm_to_air.ir.writer14 import write_llvm14
from llvm_to_air.session import Session


def test_modern_bitcode_raw_and_wrapped_reads_like_its_text() -> None:
    path = FIXTURES / "cuda19-O2" / "reduce_shared.ll"
    text = path.read_text()
    bitcode = llvm.parse_assembly(text, llvm.create_context()).as_bitcode()
    expected = downgrade(text, str(path))
    assert downgrade(bitcode, str(path)) == expected
    assert downgrade(wrap_bitcode(bitcode), str(path)) == expected


def test_llvm14_typed_pointer_text_and_bitcode_are_read() -> None:
    path = FIXTURES / "cuda14-O2" / "matmul_tiled.ll"
    text = path.read_text()
    assert "float*" in text or "float addrspace(1)*" in text
    from_text = read_module(text, str(path))
    from_bitcode = read_module(llvm_as_14(text), str(path))
    for module in (from_text, from_bitcode):
        kernel = next(fn for fn in module.functions if not fn.is_declaration)
        assert all(isinstance(a.ty, PointerType) for a in kernel.args[:3])
        assert kernel.cc == "ptx_kernel"  # nvvm.annotations upgraded by LLVM 22
    assert downgrade(llvm_as_14(text), str(path)) == downgrade(text, str(path))


def test_model_keeps_names_numbers_and_structure() -> None:
    module = read_module((FIXTURES / "hand" / "control_flow_unnamed.ll").read_text())
    fn = next(f for f in module.functions if not f.is_declaration)
    assert fn.blocks and all(b.terminator is not None for b in fn.blocks)
    for block in fn.blocks:
        for inst in block.instructions:
            assert inst.parent is block
            for op in inst.ops:
                assert op is not None


@pytest.fixture(scope="module")
def reader_session() -> Iterator[Session]:
    with Session() as session:
        yield session


@pytest.mark.parametrize("path", fixture_modules(), ids=fixture_id)
def test_the_fast_path_builds_what_the_token_parser_builds(
        path: Path, reader_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """ir/fastpath.py is an optimization only: every fixture's model, printed as LLVM 14
    text, is the same with it and without it (the token parser alone)."""
    source = decode_input(path.read_bytes(), str(path))
    try:
        normalized = normalize_with_llvmlite(source, str(path), True, reader_session.worker)
    except CompileError as error:
        pytest.skip(f"not read by design: {error.message}")

    def printed() -> str:
        try:
            return write_llvm14(parse_module(normalized, str(path)))
        except CompileError as error:  # no LLVM 14 spelling (atomicrmw uinc_wrap, ...)
            return f"error: {error}"

    fast = printed()
    monkeypatch.setattr(FastPath, "instruction", lambda self, line: None)
    assert printed() == fast


def test_llvm24_argument_comments_are_not_types() -> None:
    """Triton's LLVM 24 prints ``/* (pinf zero) */`` before an ``is.fpclass`` mask: the
    pre-checks and the lexer pass over it, and the class test lowers and runs."""
    import numpy as np

    from llvm_to_air import compile, run
    from llvm_to_air.ir.lexer import tokenize

    text = ('target triple = "nvptx64-nvidia-cuda"\n'
            "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "declare i1 @llvm.is.fpclass.f32(float, i32 immarg)\n"
            "define void @k(ptr %x, ptr %y) {\n"
            "  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
            "  %i = zext i32 %t to i64\n"
            "  %p = getelementptr inbounds float, ptr %x, i64 %i\n"
            "  %v = load float, ptr %p, align 4\n"
            "  %c = call i1 @llvm.is.fpclass.f32(float %v, /* (pinf zero) */ i32 608)\n"
            "  %r = zext i1 %c to i32\n"
            "  %q = getelementptr inbounds i32, ptr %y, i64 %i\n"
            "  store i32 %r, ptr %q, align 4\n  ret void\n}\n"
            '!nvvm.annotations = !{!0}\n!0 = !{ptr @k, !"kernel", i32 1}\n')
    assert all(token[1] != "/*" for token in tokenize(text))
    result = compile(text, "fpclass.ll")
    x = np.array([np.inf, 0.0, -0.0, -np.inf, 1.0, np.nan, 1e-45, -2.0], np.float32)
    y = np.zeros(8, np.int32)
    run(result.output.encode(), "k", 8, 8, {0: x, 1: y})
    assert y.tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
