"""What the rewrite stages share: options in, kernel signatures out.

Stages are functions ``stage(module, ctx)``; ``ctx`` is the only state they
share, passed explicitly. Kernel discovery fills ``ctx.kernels``; the ABI,
built-in and intrinsic stages add to each :class:`KernelSignature`; metadata
synthesis reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llvm_to_air.errors import CompileError
from llvm_to_air.ir.model import Argument, Function
from llvm_to_air.ir.types import Type
from llvm_to_air.metadata.target import AirTarget

Producer = Literal["cuda", "opencl", "rocdl", "air", "plain"]
ArgumentKind = Literal["buffer", "constant", "threadgroup", "builtin", "texture",
                       "sampler"]


@dataclass(frozen=True)
class LoweringOptions:
    """User choices. ``kernels`` selects (and, for plain functions, marks) kernels by name;
    ``renames`` maps LLVM names to metallib names; ``fast_math`` None follows the input's
    fast-math flags; ``f64`` is "error" or "demote"."""

    target: AirTarget
    kernels: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()
    fast_math: bool | None = None
    f64: Literal["error", "demote"] = "error"


@dataclass
class StructField:
    """One field of a struct argument: its byte offset, the size of one element, the array
    length (0 when it is no array), the element's type spelling and the field's name."""

    offset: int
    size: int
    array_length: int
    type_name: str
    name: str


@dataclass
class KernelArgument:
    """One parameter of an AIR kernel, as its ``!air.kernel`` argument node describes it.

    ``location_index`` counts device and constant buffers together, threadgroup
    buffers and textures each separately (the host's setBuffer/setBytes,
    setThreadgroupMemoryLength and setTexture indices); built-ins have none.
    """

    kind: ArgumentKind
    name: str
    llvm_type: Type
    type_name: str
    type_size: int = 0
    type_align: int = 0
    element_type: Type | None = None
    location_index: int | None = None
    access: str | None = None            # air.read | air.read_write | air.write (textures)
    address_space: int | None = None
    buffer_size: int | None = None       # constant buffers (by-value parameters)
    role: str | None = None              # built-ins: "thread_position_in_grid", ...
    unused: bool = False
    struct_fields: list[StructField] | None = None
    source_index: int | None = None      # position in the input function, if any
    param: Argument | None = None


@dataclass(frozen=True)
class ImageParam:
    """An OpenCL image parameter lowered to a texture: its access (``read``, ``write`` or
    ``read_write``) and the access operand AIR's texture calls pass (1, 2, 3)."""

    access: str
    access_operand: int


@dataclass
class KernelSignature:
    """A kernel as the lowering found it: its function, source and final names, its
    arguments, and whether it uses barriers or SIMD-group functions."""

    function: Function
    source_name: str
    producer: Producer
    name: str = ""                        # final (metallib) name, after --rename
    arguments: list[KernelArgument] = field(default_factory=list)
    # source argument names known from producer metadata (OpenCL kernel_arg_name, ...)
    source_arg_names: list[str | None] = field(default_factory=list)
    # source type spellings when the producer records them (OpenCL kernel_arg_type)
    source_arg_types: list[str | None] = field(default_factory=list)
    uses_barrier: bool = False
    uses_simd: bool = False
    # image parameters (by source position) that are AIR textures
    images: dict[int, ImageParam] = field(default_factory=dict)
    # sampler_t parameters (by source position): AIR samplers (rewrite/samplers.py)
    samplers: set[int] = field(default_factory=set)


@dataclass
class LoweringContext:
    """The state one lowering shares between its stages: the options, the kernels found,
    the fast-math decision and the warnings so far."""

    options: LoweringOptions
    kernels: list[KernelSignature] = field(default_factory=list)
    # the fast-math decision: the option, or the input's own fast-math flags
    fast_math: bool = False
    warnings: list[CompileError] = field(default_factory=list)

    @property
    def target(self) -> AirTarget:
        return self.options.target

    def kernel_of(self, fn: Function) -> KernelSignature | None:
        for kernel in self.kernels:
            if kernel.function is fn:
                return kernel
        return None
