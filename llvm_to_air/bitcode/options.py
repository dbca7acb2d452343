"""What a caller passes the bitcode writer besides the module: its knobs and its cache.

:class:`WriterOptions` are the writer's settings; :class:`LibraryCache` holds what the
modules of one library share, so their common blocks are written once (same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvm_to_air.bitcode import bitstream as bs
from llvm_to_air.bitcode.enumerator import SharedPools
from llvm_to_air.bitcode.symtab import DEFAULT_PRODUCER


@dataclass(frozen=True)
class WriterOptions:
    """Knobs of the bitcode writer.

    ``producer``: the IDENTIFICATION string (Apple's tools write ``""``).
    ``symtab_producer``: the irsymtab producer (LLVM 14.0.6 writes ``"14.0.6"``).
    ``write_symtab``: write the SYMTAB block where LLVM 14 would.
    """

    producer: str = ""
    symtab_producer: str = DEFAULT_PRODUCER
    write_symtab: bool = True


@dataclass
class ContentCache:
    """What any module's bitcode may reuse, keyed by the content it encodes alone, so it
    holds across libraries: a :class:`~llvm_to_air.session.Session` keeps one between
    compiles (the same bytes come out either way).

    ``blocks``: whole blocks by what determines their contents (identification,
    BLOCKINFO, type table, attribute groups, metadata kinds, operand bundle tags, sync
    scope names).
    ``vst_entries``: the encoded name part of a VALUE_SYMTAB entry, by name and
    whether it names a block (:func:`~llvm_to_air.bitcode.value_symtab._vst_entry`, a function of those two alone).
    ``string_records``: unabbreviated string records (code and bytes) as
    :func:`bitstream.unabbreviated_body` encodes them.
    """

    blocks: bs.BlockCache = field(default_factory=dict)
    vst_entries: dict[tuple[bytes, bool], tuple[int, int, int, int]] = field(
        default_factory=dict)
    string_records: dict[tuple[int, bytes], tuple[int, int]] = field(default_factory=dict)

    def size(self) -> int:
        """Entries held (a long-lived holder starts a fresh cache past a bound)."""
        return len(self.blocks) + len(self.vst_entries) + len(self.string_records)


@dataclass
class LibraryCache:
    """What the modules of one library share, written once (a ``.metallib`` holds one
    module per kernel, and each repeats the same fixed blocks).

    ``content``: what depends on content alone (:class:`ContentCache`; may outlive
    the library). ``pools``: per source file, what the enumerators share
    (:class:`SharedPools`; they remember model objects, so they live for one library).
    """

    content: ContentCache = field(default_factory=ContentCache)
    pools: dict[str, SharedPools] = field(default_factory=dict)

    def pools_of(self, file: str) -> SharedPools:
        """What the enumerators of the modules of ``file`` share (errors name the file)."""
        found = self.pools.get(file)
        if found is None:
            found = self.pools[file] = SharedPools.of(file)
        return found
