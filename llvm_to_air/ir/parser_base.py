"""Shared ground of the LLVM text parser: the token cursor and the IR vocabulary.

Holds the keyword sets (opcodes, linkages, calling conventions, orderings ...),
the local-name helpers, the forward-reference placeholder and
:class:`ParserBase`, which owns the parser's state (module, symbol tables,
per-function state) and the statement/token cursor every other parser layer
reads through (``peek``/``next``/``expect``/``error``). Every error is a
located :class:`CompileError`, never a Python exception.
"""

from __future__ import annotations

import re

from llvm_to_air.errors import CompileError, SourceLocation
from llvm_to_air.ir import lexer as lx
from llvm_to_air.ir.lexer import LineIndex, Token, decode_name, tokenize, unescape
from llvm_to_air.ir.model import BasicBlock, Function, GlobalValue, MDNode, Metadata, Module, Value
from llvm_to_air.ir.types import Type

BINARY_OPS = frozenset({"add", "sub", "mul", "udiv", "sdiv", "urem", "srem", "shl", "lshr",
                        "ashr", "and", "or", "xor", "fadd", "fsub", "fmul", "fdiv", "frem"})
CAST_OPS = frozenset({"trunc", "zext", "sext", "fptrunc", "fpext", "fptoui", "fptosi", "uitofp",
                      "sitofp", "ptrtoint", "inttoptr", "bitcast", "addrspacecast", "ptrtoaddr"})
INST_FLAGS = frozenset({"nuw", "nsw", "exact", "disjoint", "nneg", "samesign", "fast", "nnan",
                        "ninf", "nsz", "arcp", "contract", "afn", "reassoc"})
LINKAGES = frozenset({"private", "internal", "available_externally", "linkonce", "weak", "common",
                      "appending", "extern_weak", "linkonce_odr", "weak_odr", "external"})
GLOBAL_QUALIFIERS = frozenset({"dso_local", "dso_preemptable", "default", "hidden", "protected",
                               "dllimport", "dllexport", "unnamed_addr", "local_unnamed_addr",
                               "thread_local", "externally_initialized"})
CALLING_CONVENTIONS = frozenset({
    "ccc", "fastcc", "coldcc", "ptx_kernel", "ptx_device", "spir_kernel", "spir_func",
    "amdgpu_kernel", "amdgpu_vs", "amdgpu_gs", "amdgpu_ps", "amdgpu_cs", "amdgpu_hs",
    "amdgpu_ls", "amdgpu_es", "amdgpu_gfx", "intel_ocl_bicc", "webkit_jscc", "anyregcc",
    "preserve_mostcc", "preserve_allcc", "preserve_nonecc", "swiftcc", "swifttailcc", "tailcc",
    "cxx_fast_tlscc", "ghccc", "x86_stdcallcc", "x86_fastcallcc", "x86_thiscallcc",
    "x86_vectorcallcc", "x86_regcallcc", "x86_intrcc", "x86_64_sysvcc", "win64cc", "arm_apcscc",
    "arm_aapcscc", "arm_aapcs_vfpcc", "aarch64_vector_pcs", "msp430_intrcc", "avr_intrcc",
    "avr_signalcc", "riscv_vector_cc", "cfguard_checkcc", "hhvmcc", "hhvm_ccc", "amdgpu_cs_chain",
    "amdgpu_cs_chain_preserve", "spirv_kernel",
})
# Attributes that take a parenthesised argument or a type argument.
TYPE_ATTRS = frozenset({"byval", "sret", "byref", "preallocated", "inalloca", "elementtype"})
ORDERINGS = frozenset({"unordered", "monotonic", "acquire", "release", "acq_rel", "seq_cst"})

_NUMBERED = re.compile(r"\d+\Z")
_LABEL_RE = re.compile(r'("[^"]*"|[-a-zA-Z$._0-9]+):')


_QUOTED_NUMBER = "\x00quoted:"


def _local_key(token_text: str) -> str:
    """Key of a local name token: ``%7`` -> "7" (numbered); ``%"7"`` is a *named* value "7"."""
    if token_text[1] != '"':
        return token_text[1:]
    name = decode_name(token_text)
    if name.isdigit():
        return _QUOTED_NUMBER + name
    return name


def _key_name(key: str) -> str:
    return key[len(_QUOTED_NUMBER):] if key.startswith(_QUOTED_NUMBER) else key


class _ForwardRef(Value):
    """Placeholder for a local value used before its definition."""

    def __init__(self, name: str, ty: Type, offset: int) -> None:
        super().__init__(ty)
        self.name = name
        self.offset = offset


def _int_value(text: str) -> int:
    if text[0] in "su" and text[1:3] == "0x":
        value = int(text[3:], 16)
        return value
    return int(text)


# Every enum attribute keyword LLVM 14 to 22 may print.
_ATTR_WORDS = frozenset("""
align alignstack allocalign allockind allocptr allocsize alwaysinline builtin byref byval
captures cold convergent coro_elide_safe coro_only_destroy_when_complete dead_on_return
dead_on_unwind dereferenceable dereferenceable_or_null disable_sanitizer_instrumentation
elementtype fn_ret_thunk_extern hot hybrid_patchable immarg inalloca initializes inlinehint
inreg jumptable memory minsize mustprogress naked nest noalias nobuiltin nocallback nocapture
nocf_check nocreateundeforpoison nodivergencesource noduplicate noext nofpclass nofree
noimplicitfloat noinline nomerge nonlazybind nonnull noprofile norecurse noredzone noreturn
nosanitize_bounds nosanitize_coverage nosync noundef nounwind null_pointer_is_valid
optdebug optforfuzzing optnone optsize preallocated range readnone readonly returned
returns_twice safestack sanitize_address sanitize_alloc_token sanitize_hwaddress
sanitize_memory sanitize_memtag sanitize_numerical_stability sanitize_realtime
sanitize_realtime_blocking sanitize_thread sanitize_type shadowcallstack signext skipprofile
speculatable speculative_load_hardening sret ssp sspreq sspstrong strictfp swiftasync
swifterror swiftself uwtable vscale_range willreturn writable writeonly zeroext argmemonly
inaccessiblememonly inaccessiblemem_or_argmemonly nofree denormal_fpenv
""".split())


class ParserBase:
    """Parser state and the token cursor over one statement at a time."""

    def __init__(self, text: str, file: str = "<input>", typed: bool = False) -> None:
        self.text = text
        # typed=True reads LLVM 14 text (typed pointers), as our LLVM 14 writer prints it
        self.typed = typed
        self.file = file
        # The parser works one statement (a line; a switch spans several) at a time:
        # ``toks`` are that statement's tokens with offsets into ``stmt_text``.
        self.lines = text.split("\n")
        self.stmt_text = ""
        self.stmt_line = 1
        self.toks: list[Token] = [(lx.EOF, "", 0)]
        self.i = 0
        self.type_cache: dict[str, Type] = {}
        self.module = Module(file=file)
        self.globals: dict[str, GlobalValue] = {}
        self.md_numbered: dict[int, Metadata] = {}
        self.md_placeholders: dict[int, MDNode] = {}
        self.md_aliases: dict[int, Metadata] = {}  # id(placeholder) -> specialized node
        self.attr_groups: dict[str, list[str]] = {}
        # per-function state
        self.locals: dict[str, Value] = {}
        self.forward: dict[str, _ForwardRef] = {}
        self.blocks: dict[str, BasicBlock] = {}
        self.function: Function | None = None

    # ------------------------------------------------------------------ basics

    def location(self, offset: int | None = None) -> SourceLocation:
        if offset is None:
            offset = self.toks[self.i][2]
        line, col = LineIndex(self.stmt_text).locate(offset)
        return SourceLocation(self.file, self.stmt_line + line - 1, col)

    def begin_statement(self, text: str, line: int) -> None:
        self.stmt_text = text
        self.stmt_line = line
        self.toks = tokenize(text, self.file)
        self.i = 0

    def end_statement(self) -> None:
        kind, text, offset = self.toks[self.i]
        if kind != lx.EOF:
            raise self.error(f"unexpected '{text}' after the end of a statement", offset)

    def error(self, message: str, offset: int | None = None) -> CompileError:
        return CompileError(message, self.location(offset))

    def peek(self, k: int = 0) -> Token:
        return self.toks[self.i + k]

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        return self.toks[self.i][1] == text

    def accept(self, text: str) -> bool:
        if self.toks[self.i][1] == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        tok = self.toks[self.i]
        if tok[1] != text:
            raise self.error(f"expected '{text}' but found '{tok[1] or 'end of file'}'")
        self.i += 1
        return tok

    def expect_kind(self, kind: str, what: str) -> Token:
        tok = self.toks[self.i]
        if tok[0] != kind:
            raise self.error(f"expected {what} but found '{tok[1] or 'end of file'}'")
        self.i += 1
        return tok

    def parse_int(self) -> int:
        tok = self.expect_kind(lx.INT, "an integer")
        return _int_value(tok[1])

    def parse_string(self) -> str:
        tok = self.expect_kind(lx.STRING, "a string")
        return unescape(tok[1][1:-1]).decode("utf-8", "surrogateescape")


    def _block(self, name: str) -> BasicBlock:
        block = self.blocks.get(name)
        if block is None:
            block = BasicBlock(name=None if name.isdigit() else _key_name(name))
            self.blocks[name] = block
        return block
