"""The Darwin bitcode wrapper: our own bitcode, and Apple's modules from the reference corpus."""

from __future__ import annotations

import struct
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from llvm_to_air.bitcode_wrapper import (
    is_bitcode,
    is_raw_bitcode,
    is_wrapped_bitcode,
    unwrap_bitcode,
    wrap_bitcode,
)
from llvm_to_air.errors import CompileError

REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference" / "apple-metallib"

IR_SAMPLES = {
    "empty": "",
    "void": "define void @foo() {\n  ret void\n}\n",
    "add": "define i32 @add(i32 %a, i32 %b) {\n  %s = add i32 %a, %b\n  ret i32 %s\n}\n",
    "global": '@g = global [4 x i8] c"abc\\00"\ndefine ptr @get() {\n  ret ptr @g\n}\n',
    "loop": (
        "define void @fill(ptr %p, i64 %n) {\nentry:\n  br label %loop\n"
        "loop:\n  %i = phi i64 [0, %entry], [%j, %loop]\n"
        "  %q = getelementptr float, ptr %p, i64 %i\n  store float 1.0, ptr %q\n"
        "  %j = add i64 %i, 1\n  %c = icmp ult i64 %j, %n\n  br i1 %c, label %loop, label %done\n"
        "done:\n  ret void\n}\n"
    ),
}


def raw_bitcode(ir: str) -> bytes:
    """Raw bitcode written by llvmlite's LLVM."""
    return llvm.parse_assembly(ir).as_bitcode()


@pytest.fixture(params=sorted(IR_SAMPLES))
def raw(request: pytest.FixtureRequest) -> bytes:
    return raw_bitcode(IR_SAMPLES[request.param])


def test_raw_bitcode_from_llvmlite_is_recognised(raw: bytes) -> None:
    assert is_raw_bitcode(raw)
    assert is_bitcode(raw)
    assert not is_wrapped_bitcode(raw)


def test_wrap_layout(raw: bytes) -> None:
    wrapped = wrap_bitcode(raw)
    magic, version, offset, size, cputype = struct.unpack_from("<5I", wrapped)
    assert (magic, version, offset, size, cputype) == (0x0B17C0DE, 0, 20, len(raw), 0xFFFFFFFF)
    assert wrapped[20 : 20 + len(raw)] == raw
    padding = wrapped[20 + len(raw) :]
    assert len(wrapped) % 16 == 0
    assert len(padding) < 16
    assert padding == bytes(len(padding))
    assert is_wrapped_bitcode(wrapped) and is_bitcode(wrapped)


def test_unwrap_round_trip_and_llvm_reads_it(raw: bytes) -> None:
    wrapped = wrap_bitcode(raw)
    assert unwrap_bitcode(wrapped) == raw
    assert unwrap_bitcode(raw) == raw  # raw input passes through
    module = llvm.parse_bitcode(unwrap_bitcode(wrapped))
    assert str(module) == str(llvm.parse_bitcode(raw))


@pytest.mark.parametrize("body_len", [4, 8, 12, 16, 28, 32])
def test_padding_is_minimal_for_every_residue(body_len: int) -> None:
    raw = b"BC\xc0\xde" + bytes(body_len - 4)
    wrapped = wrap_bitcode(raw)
    assert len(wrapped) == -(-(20 + body_len) // 16) * 16
    assert unwrap_bitcode(wrapped) == raw


def test_wrap_rejects_non_bitcode_and_double_wrapping() -> None:
    with pytest.raises(CompileError, match="not LLVM bitcode"):
        wrap_bitcode(b"\x7fELF....")
    with pytest.raises(CompileError, match="already wrapped"):
        wrap_bitcode(wrap_bitcode(raw_bitcode("")))


def _wrapped_sample() -> bytes:
    return wrap_bitcode(raw_bitcode(IR_SAMPLES["add"]))


def _patch_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda w: b"", "found an empty file"),
        (lambda w: b"hello world", "not LLVM bitcode"),
        (lambda w: w[:12], "truncated bitcode wrapper at byte offset 0"),
        (lambda w: _patch_u32(w, 8, 4), "offset field 4 at byte offset 8"),
        (lambda w: _patch_u32(w, 12, len(w)), "past the end of the"),
        (lambda w: _patch_u32(w, 8, 24), "no bitcode magic"),
    ],
    ids=[
        "empty",
        "garbage",
        "truncated-header",
        "offset-inside-header",
        "size-past-end",
        "no-bc-magic",
    ],
)
def test_unwrap_errors(make, message: str) -> None:
    data = make(_wrapped_sample())
    with pytest.raises(CompileError, match=message) as info:
        unwrap_bitcode(data, file="k.air")
    assert info.value.location.file == "k.air"


def test_every_truncation_is_a_compile_error_or_valid() -> None:
    wrapped = _wrapped_sample()
    for cut in range(len(wrapped)):
        try:
            unwrap_bitcode(wrapped[:cut])
        except CompileError:
            pass


def _reference_modules() -> list[tuple[str, bytes]]:
    if not REFERENCE.is_dir():
        return []
    from llvm_to_air.metallib import read_metallib

    modules = []
    for path in sorted(REFERENCE.glob("*.metallib")):
        lib = read_metallib(path.read_bytes(), str(path))
        modules += [(f"{path.name}:{e.name}", lib.module_of(e)) for e in lib.functions]
    return modules


def test_apple_modules_rewrap_byte_for_byte() -> None:
    """Our wrapper reproduces every module Apple's tools wrapped, padding included."""
    modules = _reference_modules()
    if not modules:
        pytest.skip(f"reference corpus not found at {REFERENCE}")
    for label, module in modules:
        raw = unwrap_bitcode(module, label)
        assert is_raw_bitcode(raw), label
        assert wrap_bitcode(raw) == module, label
        assert llvm.parse_bitcode(raw) is not None, label
