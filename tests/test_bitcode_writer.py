"""The LLVM 14 bitcode writer, judged by LLVM 14's own tools, llvmlite and Apple's modules.

Oracles, over every fixture module (downgraded to LLVM 14 text) and the
hand-written stress modules in ``tests/fixtures/bitcode-stress`` (LLVM 14
text as it is):

1. ``llvm-dis-14`` of our bitcode equals ``llvm-dis-14`` of ``llvm-as-14``'s
   bitcode for the same text (full text; no normalization is needed: both
   are read from stdin, so even the ``; ModuleID`` lines agree);
   and on text LLVM itself printed (already folded and upgraded) our bytes
   equal ``llvm-as-14``'s, producer string aside;
2. ``llvm-bcanalyzer-14 -dump`` reads our bitcode without errors;
3. llvmlite (LLVM 22) reads it and the module verifies;
4. Apple's modules, disassembled and written again, have exactly Apple's
   block and record kinds, and kernel-like fixtures use Apple's block
   kinds and no structural record kinds Apple never writes;
5. writing is deterministic, across hash seeds too;
6. the stress modules are valid LLVM 14 (``llvm-as-14`` accepts them).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest
from oracles import (
    FIXTURES,
    fixture_id,
    fixture_modules,
    llvm_as_14,
    llvm_dis_14,
    require_tool,
    run_tool,
)

from llvm_to_air.bitcode import WriterOptions, codes, llvm14_text_to_bitcode, write_bitcode
from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode.constants import fp_bits
from llvm_to_air.bitcode.writer import signed64
from llvm_to_air.bitcode_wrapper import unwrap_bitcode
from llvm_to_air.errors import CompileError
from llvm_to_air.ir import downgrade
from llvm_to_air.ir.parser import parse_llvm14_module

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).parents[1].parent / "shared" / "reference"
STRESS_DIR = FIXTURES / "bitcode-stress"
# LLVM 14-only stress text sits one folder deeper, outside fixture_modules():
# LLVM 22 (which the downgrade tests read every fixture with) rejects it.
STRESS = sorted(STRESS_DIR.glob("*.ll")) + sorted(STRESS_DIR.glob("*/*.ll"))
MODULES = fixture_modules()
LLVM_PRODUCER = WriterOptions(producer="LLVM14.0.6")  # what llvm-as-14 writes


CASES = sorted({*MODULES, *STRESS})


@functools.cache
def llvm14_text(path: Path) -> str:
    """LLVM 14 text of a case: stress modules as written, fixtures downgraded."""
    text = path.read_text()
    if path.is_relative_to(STRESS_DIR):
        return text
    return downgrade(text, str(path))


@functools.cache
def our_bitcode(path: Path) -> bytes:
    return llvm14_text_to_bitcode(llvm14_text(path), str(path))


def bcanalyzer_dump(bitcode: bytes) -> str:
    tool = require_tool("llvm-bcanalyzer-14")
    result = run_tool([tool, "-dump", "-"], bitcode)
    assert result.returncode == 0, "llvm-bcanalyzer-14 failed:\n" + result.stderr.decode()
    assert not result.stderr, result.stderr.decode()
    return result.stdout.decode(errors="replace")


def test_enough_cases() -> None:
    assert len(MODULES) >= 130
    assert len(STRESS) >= 5


# ------------------------------------------------------------------ oracle 1


@pytest.mark.parametrize("path", CASES, ids=fixture_id)
def test_disassembly_equals_llvm_as(path: Path) -> None:
    text = llvm14_text(path)
    ours = llvm_dis_14(our_bitcode(path))
    theirs = llvm_dis_14(llvm_as_14(text))
    assert ours == theirs


def _llvm_printed(text: str) -> str:
    """Text as LLVM 14 prints it after parsing (folded constants, upgraded intrinsics)."""
    return llvm_dis_14(_llvm_as_plain(text))


def _llvm_as_plain(text: str) -> bytes:
    """llvm-as-14 the way clang writes bitcode: no use-list order, no Darwin wrapper."""
    tool = require_tool("llvm-as-14")
    result = run_tool([tool, "--preserve-bc-uselistorder=false", "-", "-o", "-"], text.encode())
    assert result.returncode == 0, result.stderr.decode()
    return unwrap_bitcode(result.stdout)


@pytest.mark.parametrize("path", CASES, ids=fixture_id)
def test_bytes_equal_llvm_as_on_llvm_printed_text(path: Path) -> None:
    """On text LLVM printed itself, our bitcode is llvm-as-14's, byte for byte."""
    text = _llvm_printed(llvm14_text(path))
    ours = llvm14_text_to_bitcode(text, str(path), LLVM_PRODUCER)
    theirs = _llvm_as_plain(text)
    assert ours == theirs, "bitcode differs from llvm-as-14's"


# ------------------------------------------------------------------ oracle 2


@pytest.mark.parametrize("path", CASES, ids=fixture_id)
def test_bcanalyzer_reads_it(path: Path) -> None:
    dump = bcanalyzer_dump(our_bitcode(path))
    assert "mismatch" not in dump, "METADATA_INDEX offsets disagree"
    assert "<MODULE_BLOCK" in dump and "<STRTAB_BLOCK" in dump


# ------------------------------------------------------------------ oracle 3


# LLVM 22 no longer reads the constant expressions LLVM 17 removed, nor LLVM 14's i64 mask
# result of llvm.nvvm.match.any.sync.i64 (LLVM 17 made it i32; its bitcode reader does not
# upgrade the old form), which the downgrade writes for LLVM 14.
LLVM22_REJECTS = ("llvm.nvvm.match.any.sync.i64", "llvm.nvvm.match.all.sync.i64p")
LLVMLITE_CASES = [p for p in CASES if not p.is_relative_to(STRESS_DIR / "llvm14-only")
                  and not any(name in llvm14_text(p) for name in LLVM22_REJECTS)]


def test_llvm14_match_masks_are_what_llvm22_rejects() -> None:
    """The cases left out above: LLVM 14 verifies them, LLVM 22 refuses the old result."""
    left_out = [p for p in CASES if any(n in llvm14_text(p) for n in LLVM22_REJECTS)]
    assert left_out
    for path in left_out:
        assert re.search(r"call (noundef )?i64 @llvm\.nvvm\.match\.any\.sync\.i64\(",
                         llvm14_text(path))
        llvm_as_14(llvm14_text(path))
        with pytest.raises(RuntimeError, match="Intrinsic has incorrect return type"):
            llvm.parse_bitcode(our_bitcode(path)).verify()


@pytest.mark.parametrize("path", LLVMLITE_CASES, ids=fixture_id)
def test_llvmlite_reads_and_verifies_it(path: Path) -> None:
    module = llvm.parse_bitcode(our_bitcode(path))
    module.verify()
    ours = parse_llvm14_module(llvm14_text(path), str(path))
    # intrinsics come back renamed for opaque pointers (llvm.memcpy.p0i8... -> .p0)
    assert {f.name for f in module.functions} >= {
        fn.name for fn in ours.functions if not fn.name.isdigit()
        and not fn.name.startswith("llvm.")}


# ------------------------------------------------------------------ oracle 4


def kinds(bitcode: bytes) -> set[tuple[str, ...]]:
    """(parent block, block) and (block, record kind) names in ``llvm-bcanalyzer-14 -dump``."""
    dump = bcanalyzer_dump(bitcode).split("\n\n\nSummary of")[0]
    found: set[tuple[str, ...]] = set()
    stack: list[str] = []
    for line in dump.splitlines():
        match = re.match(r"\s*<(/?)([A-Za-z0-9_]+)", line)
        if match is None:
            continue
        closing, name = match.groups()
        if closing:
            stack.pop()
        elif "NumWords=" in line or name == "BLOCKINFO_BLOCK":
            found.add(("block", stack[-1] if stack else "", name))
            if not line.rstrip().endswith("/>"):
                stack.append(name)
        else:
            found.add(("record", stack[-1] if stack else "", name))
    return found


def apple_modules() -> list[tuple[str, bytes]]:
    """Raw bitcode of every module inside the Apple-built reference metallibs."""
    from llvm_to_air.metallib import read_metallib

    folder = REFERENCE / "apple-metallib"
    if not folder.is_dir():
        pytest.skip(f"Apple reference metallibs not found at {folder}")
    out = []
    for path in sorted(folder.glob("*.metallib")):
        library = read_metallib(path.read_bytes(), str(path))
        for entry in library.functions:
            out.append((f"{path.stem}:{entry.name}", unwrap_bitcode(library.module_of(entry))))
    return out


def test_apple_modules_written_again_have_apples_structure() -> None:
    """Apple's own modules through llvm-dis-14 and our writer: the same block and record kinds.

    Modules with debug info are skipped: the writer rejects specialized
    debug-info nodes by design (the LLVM 14 printer strips them by default).
    """
    compared = 0
    for name, apple in apple_modules():
        text = llvm_dis_14(apple)
        try:
            ours = llvm14_text_to_bitcode(text, name)
        except CompileError as exc:
            assert "!DI" in text, f"{name}: {exc}"
            continue
        assert kinds(ours) == kinds(apple), name
        assert llvm_dis_14(ours) == text, name
        compared += 1
    assert compared >= 30


KERNEL_FIXTURES = ["cuda14-O2/vadd", "cuda14-O2/saxpy", "cuda19-O2/reduce_shared",
                   "opencl19/vadd", "mlir-rocdl/saxpy_scalar"]
# Blocks our modules may have that Apple's reference modules happen not to:
# function-local constants (Apple's corpus kernels use only module-level
# constants) and function-local value names (Apple's compiler strips them).
JUSTIFIED_BLOCKS = {("block", "FUNCTION_BLOCK", "CONSTANTS_BLOCK"),
                    ("block", "FUNCTION_BLOCK", "VALUE_SYMTAB")}
# Records whose kinds follow the program, not the writer: instructions, the
# kinds of constants and types used, and the names in value symbol tables.
PROGRAM_RECORD_BLOCKS = {"FUNCTION_BLOCK", "CONSTANTS_BLOCK", "TYPE_BLOCK_ID", "VALUE_SYMTAB"}


@pytest.mark.parametrize("name", KERNEL_FIXTURES)
def test_kernel_fixtures_look_like_apples_modules(name: str) -> None:
    apple: set[tuple[str, ...]] = set()
    for _, bitcode in apple_modules():
        apple |= kinds(bitcode)
    ours = kinds(our_bitcode(FIXTURES / f"{name}.ll"))
    apple_blocks = {k for k in apple if k[0] == "block"}
    our_blocks = {k for k in ours if k[0] == "block"}
    assert our_blocks - apple_blocks <= JUSTIFIED_BLOCKS
    module_level = {k for k in apple_blocks if k[1] in ("", "MODULE_BLOCK")}
    assert module_level <= our_blocks, "a top-level or module-level block kind is missing"
    structural = {k for k in ours - apple if k[0] == "record"
                  and k[1] not in PROGRAM_RECORD_BLOCKS}
    assert not structural, f"record kinds Apple never writes: {sorted(structural)}"


# ------------------------------------------------------------------ oracle 5


DETERMINISM_CASES = [p for p in CASES if fixture_id(p) in {
    "hand/metadata", "hand/constants_globals", "cuda19-O2/reduce_shared",
    "bitcode-stress/instructions", "bitcode-stress/metadata"}]


@pytest.mark.parametrize("path", DETERMINISM_CASES, ids=fixture_id)
def test_writing_is_deterministic(path: Path) -> None:
    text = llvm14_text(path)
    first = llvm14_text_to_bitcode(text, str(path))
    assert llvm14_text_to_bitcode(text, str(path)) == first
    assert write_bitcode(parse_llvm14_module(text, str(path))) == first
    script = ("import sys\nfrom llvm_to_air.bitcode import llvm14_text_to_bitcode\n"
              "sys.stdout.buffer.write(llvm14_text_to_bitcode(sys.stdin.read(), sys.argv[1]))\n")
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script, str(path)], input=text.encode(),
                                capture_output=True, cwd=REPO, env=env, timeout=120,
                                check=False)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == first, f"different bytes under PYTHONHASHSEED={seed}"


# ------------------------------------------------------------------ oracle 6


@pytest.mark.parametrize("path", STRESS, ids=fixture_id)
def test_stress_modules_are_llvm14(path: Path) -> None:
    llvm_as_14(path.read_text())


def test_stress_modules_cover_every_instruction_record() -> None:
    found: set[str] = set()
    for path in STRESS:
        found |= {k[2] for k in kinds(our_bitcode(path)) if k[0] == "record"}
    wanted = {"INST_BINOP", "INST_UNOP", "INST_CAST", "INST_GEP", "INST_EXTRACTVAL",
              "INST_INSERTVAL", "INST_VSELECT", "INST_EXTRACTELT", "INST_INSERTELT",
              "INST_SHUFFLEVEC", "INST_CMP2", "INST_RET", "INST_BR", "INST_SWITCH",
              "INST_UNREACHABLE", "INST_PHI", "INST_ALLOCA", "INST_LOAD", "INST_LOADATOMIC",
              "INST_STORE", "INST_STOREATOMIC", "INST_CMPXCHG", "INST_ATOMICRMW", "INST_FENCE",
              "INST_CALL", "OPERAND_BUNDLE", "DECLAREBLOCKS",
              # constants
              "INTEGER", "WIDE_INTEGER", "FLOAT", "NULL", "UNDEF", "AGGREGATE", "STRING",
              "CSTRING", "DATA", "CE_CAST", "CE_GEP", "CE_INBOUNDS_GEP", "CE_BINOP", "CE_CMP",
              "CE_SELECT", "CE_EXTRACTELT", "CE_INSERTELT", "CE_SHUFFLEVEC", "CE_SHUFVEC_EX",
              "INLINEASM",
              # metadata
              "STRINGS", "VALUE", "NODE", "DISTINCT_NODE", "NAME", "NAMED_NODE", "INDEX",
              "INDEX_OFFSET", "GLOBAL_DECL_ATTACHMENT", "ATTACHMENT", "KIND",
              # module
              "GLOBALVAR", "FUNCTION", "ALIAS", "COMDAT", "SECTIONNAME", "GCNAME",
              "VSTOFFSET", "SOURCE_FILENAME", "TRIPLE", "DATALAYOUT", "FNENTRY", "ENTRY",
              "BBENTRY", "OPAQUE", "STRUCT_NAME", "STRUCT_NAMED", "STRUCT_ANON", "VECTOR",
              "ARRAY", "LABEL", "TOKEN", "HALF", "BFLOAT", "DOUBLE"}
    # bcanalyzer-14 has no names for POISON (26), FREEZE (58) and ATOMICRMW (59)
    assert {"UnknownCode26", "UnknownCode58"} <= found
    assert not wanted - found, sorted(wanted - found)


def test_stress_module_has_many_values_and_wide_fields() -> None:
    module = parse_llvm14_module((STRESS_DIR / "many_values.ll").read_text())
    big = module.get_function("big")
    assert big is not None and sum(1 for _ in big.instructions()) > 1000
    assert len(module.globals) > 64 and len(module.structs) > 64


# --------------------------------------------------------------- unit tests


def _bits(write: object) -> str:
    w = bs.BitstreamWriter()
    write(w)  # type: ignore[operator]
    w.align32()
    data = w.getvalue()
    return "".join(f"{b:08b}"[::-1] for b in data)


def test_fixed_and_vbr_fields_are_lsb_first() -> None:
    assert _bits(lambda w: w.emit(0b101, 3)).startswith("101")
    # 100 = 0b1100100 as VBR6: chunk 00100 with continuation, then 00011
    assert _bits(lambda w: w.emit_vbr(100, 6)).startswith("001001" + "110000")
    assert _bits(lambda w: w.emit_vbr(31, 6)).startswith("111110")


@pytest.mark.parametrize("value", [0, 1, 31, 32, 1023, 2**32 - 1, 2**63, 2**64 - 1])
def test_vbr_round_trips(value: int) -> None:
    w = bs.BitstreamWriter()
    w.emit_vbr(value, 6)
    w.align32()
    data = int.from_bytes(w.getvalue(), "little")
    decoded, shift = 0, 0
    while True:
        chunk = data & 63
        data >>= 6
        decoded |= (chunk & 31) << shift
        shift += 5
        if not chunk & 32:
            break
    assert decoded == value


def test_blocks_are_word_aligned_and_sized() -> None:
    w = bs.BitstreamWriter()
    w.enter_block(8, 3)
    w.emit_record(1, [2])
    w.exit_block()
    data = w.getvalue()
    assert len(data) % 4 == 0
    assert int.from_bytes(data[4:8], "little") == len(data) // 4 - 2


def test_blob_records_are_padded() -> None:
    w = bs.BitstreamWriter()
    w.enter_block(23, 3)
    abbrev = w.define_abbrev(bs.abbrev(bs.literal(1), bs.BLOB_OP))
    w.emit_record_with_blob(abbrev, [1], b"abcde")
    w.exit_block()
    data = w.getvalue()
    assert b"abcde\0\0\0" in data and len(data) % 4 == 0


def test_backpatch_unaligned_field() -> None:
    w = bs.BitstreamWriter()
    w.emit(0, 5)
    w.emit(0, 32)
    w.emit(0, 27)
    w.backpatch(5, 0xDEADBEEF, 32)
    assert (int.from_bytes(w.getvalue(), "little") >> 5) & 0xFFFFFFFF == 0xDEADBEEF


def test_signed_vbr_values_match_llvm() -> None:
    assert signed64(0) == 0
    assert signed64(5) == 10
    assert signed64(-5) == 11
    assert signed64(-(2**63)) == 1  # LLVM's 64-bit wrap


@pytest.mark.parametrize(("text", "kind", "bits"), [
    ("1.000000e+00", "float", 0x3F800000),
    ("-0.000000e+00", "float", 0x80000000),
    ("0x7FF8000000000000", "float", 0x7FC00000),
    ("0x7FF4000000000000", "float", 0x7FA00000),  # signaling NaN stays signaling
    ("0x36A0000000000000", "float", 0x00000001),
    ("0x400921FB54442D18", "double", 0x400921FB54442D18),
    ("0xH3C00", "half", 0x3C00),
    ("0xR3F80", "bfloat", 0x3F80),
    ("0xK4000C90FDAA22168C235", "x86_fp80", 0x4000C90FDAA22168C235),
    ("0xL00000000000000003FFF000000000000", "fp128", 0x3FFF000000000000 << 64),
])
def test_fp_literals_become_llvm_bit_patterns(text: str, kind: str, bits: int) -> None:
    assert fp_bits(text, kind) == bits


def test_attribute_order_follows_llvm14_enum() -> None:
    inc = Path("/usr/lib/llvm-14/include/llvm/IR/Attributes.inc")
    if not inc.exists():
        pytest.skip("llvm-14-dev headers not installed")
    names = re.findall(r"^ATTRIBUTE_ENUM\(\w+,(\w+)\)", inc.read_text(), re.MULTILINE)
    assert list(codes.ATTR_MEMORY_ORDER) == names


def test_codes_match_llvm14_header() -> None:
    header = Path("/usr/lib/llvm-14/include/llvm/Bitcode/LLVMBitCodes.h")
    if not header.exists():
        pytest.skip("llvm-14-dev headers not installed")
    text = header.read_text()
    for name, value in vars(codes).items():
        if re.fullmatch(r"(FUNC_CODE|CST_CODE|TYPE_CODE|METADATA|MODULE_CODE)_[A-Z0-9_]+", name) \
                and not name.endswith("_ID"):
            declared = re.search(rf"\b{name}\s*=\s*(\d+)", text)
            assert declared is not None and int(declared.group(1)) == value, name
    for word, code in codes.ATTR_KIND_CODES.items():
        assert code <= 78, word


UNSUPPORTED = {
    "debug info": ("define void @f() !dbg !0 {\n  ret void\n}\n"
                   "!0 = distinct !DISubprogram(name: \"f\")\n", "DISubprogram"),
    "opaque pointer": ("define void @f(ptr %p) {\n  ret void\n}\n", "opaque pointer"),
    "blockaddress": ("define i8* @f() {\nentry:\n  br label %next\nnext:\n"
                     "  ret i8* blockaddress(@f, %next)\n}\n", "blockaddress"),
    "unknown attribute": ("declare void @f(i8* writable)\n", "writable"),
    "newer cast flag": ("define i64 @f(i32 %x) {\n  %y = zext nneg i32 %x to i64\n"
                        "  ret i64 %y\n}\n", "nneg"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_constructs_raise_compile_error(name: str) -> None:
    text, needle = UNSUPPORTED[name]
    with pytest.raises(CompileError) as info:
        llvm14_text_to_bitcode(text, f"<{name}>")
    assert needle in str(info.value)


def test_output_is_raw_bitcode() -> None:
    data = llvm14_text_to_bitcode("define void @f() {\n  ret void\n}\n")
    assert data[:4] == b"BC\xc0\xde" and len(data) % 4 == 0
    dump = bcanalyzer_dump(data)
    assert "record string = ''" in dump  # Apple's empty producer string
    assert "<EPOCH abbrevid=5 op0=0/>" in dump and "<VERSION op0=2/>" in dump


SMALL_TEXTS = {
    "empty": "",
    "declaration only": "declare void @f()\n",
    "no source_filename, module asm": ('module asm "foo:"\nmodule asm "  ret"\n'
                                       "define void @f() {\n  ret void\n}\n"),
    "numbered globals": "@0 = global i32 1\ndefine void @1() {\n  ret void\n}\n",
    "non-ASCII names": ('define void @"caf\\C3\\A9"(i32 %"x y", i32 %"\\C3\\A9") {\n'
                        '"b\\C3\\A9":\n  %"\\C3\\A9\\C3\\A9" = add i32 %"x y", %"\\C3\\A9"\n'
                        "  ret void\n}\n"),
}


@pytest.mark.parametrize("name", sorted(SMALL_TEXTS))
def test_small_modules_are_byte_identical_to_llvm_as(name: str) -> None:
    """Corner cases; like LLVM, a module without source_filename is named after its input."""
    text = SMALL_TEXTS[name]
    ours = llvm14_text_to_bitcode(text, "<stdin>", LLVM_PRODUCER)
    assert ours == _llvm_as_plain(text)
