"""Every Objective-C call of the Metal path, through the public Objective-C runtime.

:class:`Runtime` loads ``libobjc``, the Metal framework and ``libdispatch`` with
``ctypes`` on first use and sends messages with ``objc_msgSend`` cast to the exact
C prototype of each method (never variadic: arm64 passes variadic arguments on
the stack, so a variadic call would be wrong there). :class:`MetalAPI` names
every selector with its argument and result types, one method per Metal call;
the rest of :mod:`llvm_to_air.metal` calls only these methods. Tests give
:class:`MetalAPI` a fake runtime that records the messages, so all of this is
exercised off macOS except the final ``objc_msgSend`` itself.

Types follow Apple's headers on 64-bit macOS: ``NSUInteger`` is ``size_t``,
``NSInteger`` is ``ssize_t``, ``MTLSize`` is three ``NSUInteger``, ``BOOL`` is read as
one byte (``bool`` on arm64, ``signed char`` on x86_64), object pointers are
``void *`` (``None`` is ``nil``).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Sequence
from typing import Any, Protocol

NSUInteger = ctypes.c_size_t
NSInteger = ctypes.c_ssize_t
BOOL = ctypes.c_byte
ID = ctypes.c_void_p
ERROR_OUT = ctypes.POINTER(ctypes.c_void_p)   # NSError **

OBJC = "/usr/lib/libobjc.A.dylib"
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"      # libdispatch lives in libSystem
METAL = "/System/Library/Frameworks/Metal.framework/Metal"
# MTLCreateSystemDefaultDevice returns nil in command-line processes on some Macs
# unless CoreGraphics is loaded (a long-standing report); loading it is harmless.
COREGRAPHICS = "/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"
FOUNDATION = "/System/Library/Frameworks/Foundation.framework/Foundation"

MTL_RESOURCE_STORAGE_MODE_SHARED = 0          # MTLResourceStorageModeShared << 4
COMMAND_BUFFER_STATUS = {0: "not enqueued", 1: "enqueued", 2: "committed", 3: "scheduled",
                         4: "completed", 5: "error"}
COMMAND_BUFFER_COMPLETED = 4
COMMAND_BUFFER_ERRORS = {0: "none", 1: "internal", 2: "timeout", 3: "page fault",
                         4: "access revoked", 7: "not permitted", 8: "out of memory",
                         9: "invalid resource", 10: "memoryless", 11: "device removed",
                         12: "stack overflow"}
# MTLGPUFamily, newest first within each group (MTLDevice.h)
GPU_FAMILIES = {"apple10": 1010, "apple9": 1009, "apple8": 1008, "apple7": 1007,
                "apple6": 1006, "apple5": 1005, "apple4": 1004, "apple3": 1003,
                "apple2": 1002, "apple1": 1001, "mac2": 2002, "common3": 3003,
                "common2": 3002, "common1": 3001, "metal4": 5002, "metal3": 5001}


class MTLSize(ctypes.Structure):
    """``typedef struct { NSUInteger width, height, depth; } MTLSize;``"""

    _fields_ = [("width", NSUInteger), ("height", NSUInteger), ("depth", NSUInteger)]


class ObjCRuntime(Protocol):
    """What :class:`MetalAPI` needs from the Objective-C runtime (real or fake)."""

    def send(self, receiver: int | None, selector: str, restype: Any,
             argtypes: Sequence[Any], *args: Any) -> Any: ...

    def get_class(self, name: str) -> int | None: ...

    def create_system_default_device(self) -> int | None: ...

    def dispatch_data(self, data: bytes) -> int | None: ...

    def dispatch_release(self, obj: int) -> None: ...


class Runtime:
    """The real runtime (macOS only): libobjc, Metal, libdispatch through ctypes."""

    def __init__(self) -> None:
        if sys.platform != "darwin":
            raise OSError(f"the Objective-C runtime and Metal exist only on macOS, not on "
                          f"{sys.platform}")
        self._objc = ctypes.CDLL(OBJC)
        ctypes.CDLL(FOUNDATION)
        self._metal = ctypes.CDLL(METAL)
        try:
            ctypes.CDLL(COREGRAPHICS)
        except OSError:
            pass
        self._system = ctypes.CDLL(LIBSYSTEM)
        self._objc.objc_getClass.restype = ctypes.c_void_p
        self._objc.objc_getClass.argtypes = [ctypes.c_char_p]
        self._objc.sel_registerName.restype = ctypes.c_void_p
        self._objc.sel_registerName.argtypes = [ctypes.c_char_p]
        self._msgsend = ctypes.cast(self._objc.objc_msgSend, ctypes.c_void_p).value
        self._metal.MTLCreateSystemDefaultDevice.restype = ctypes.c_void_p
        self._metal.MTLCreateSystemDefaultDevice.argtypes = []
        # dispatch_data_t dispatch_data_create(const void *buffer, size_t size,
        #     dispatch_queue_t queue, dispatch_block_t destructor);
        # a NULL destructor (DISPATCH_DATA_DESTRUCTOR_DEFAULT) makes libdispatch copy the bytes
        self._system.dispatch_data_create.restype = ctypes.c_void_p
        self._system.dispatch_data_create.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                                      ctypes.c_void_p, ctypes.c_void_p]
        self._system.dispatch_release.restype = None
        self._system.dispatch_release.argtypes = [ctypes.c_void_p]
        self._prototypes: dict[tuple[Any, ...], Any] = {}
        self._selectors: dict[str, int] = {}

    def send(self, receiver: int | None, selector: str, restype: Any,
             argtypes: Sequence[Any], *args: Any) -> Any:
        key = (restype, *argtypes)
        function = self._prototypes.get(key)
        if function is None:
            prototype = ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p, *argtypes)
            function = self._prototypes[key] = prototype(self._msgsend)
        sel = self._selectors.get(selector)
        if sel is None:
            sel = self._selectors[selector] = self._objc.sel_registerName(selector.encode())
        return function(receiver, sel, *args)

    def get_class(self, name: str) -> int | None:
        return self._objc.objc_getClass(name.encode())

    def create_system_default_device(self) -> int | None:
        return self._metal.MTLCreateSystemDefaultDevice()

    def dispatch_data(self, data: bytes) -> int | None:
        return self._system.dispatch_data_create(data, len(data), None, None)

    def dispatch_release(self, obj: int) -> None:
        self._system.dispatch_release(obj)


def _size(dims: Sequence[int]) -> MTLSize:
    return MTLSize(*dims)


class MetalAPI:
    """One method per Metal call; selectors and C types spelled as in Apple's headers."""

    def __init__(self, runtime: ObjCRuntime) -> None:
        self.rt = runtime

    def _send(self, receiver: int | None, selector: str, restype: Any = ID,
              argtypes: Sequence[Any] = (), *args: Any) -> Any:
        if selector.count(":") != len(argtypes) or len(argtypes) != len(args):
            raise TypeError(f"{selector}: {len(argtypes)} argument types for "
                            f"{selector.count(':')} colons and {len(args)} arguments")
        return self.rt.send(receiver, selector, restype, argtypes, *args)

    # -------------------------------------------------------- Foundation

    def pool_push(self) -> int | None:
        """``[[NSAutoreleasePool alloc] init]``: objects Metal autoreleases die with it."""
        pool = self._send(self.rt.get_class("NSAutoreleasePool"), "alloc")
        return self._send(pool, "init")

    def pool_pop(self, pool: int | None) -> None:
        if pool:
            self._send(pool, "drain", None)

    def release(self, obj: int | None) -> None:
        if obj:
            self._send(obj, "release", None)

    def string(self, nsstring: int | None) -> str:
        if not nsstring:
            return ""
        raw = self._send(nsstring, "UTF8String", ctypes.c_char_p)
        return raw.decode("utf-8", "replace") if raw else ""

    def nsstring(self, text: str) -> int | None:
        return self._send(self.rt.get_class("NSString"), "stringWithUTF8String:", ID,
                          (ctypes.c_char_p,), text.encode())

    def error_text(self, error: int | None) -> str:
        """An ``NSError``'s localized description, with its domain and code."""
        if not error:
            return "no error object"
        text = self.string(self._send(error, "localizedDescription"))
        domain = self.string(self._send(error, "domain"))
        code = self._send(error, "code", NSInteger)
        return f"{text} ({domain} code {code})" if domain else text

    def string_array(self, array: int | None) -> list[str]:
        if not array:
            return []
        count = self._send(array, "count", NSUInteger)
        return [self.string(self._send(array, "objectAtIndex:", ID, (NSUInteger,), k))
                for k in range(count)]

    # ------------------------------------------------------------ device

    def default_device(self) -> int | None:
        return self.rt.create_system_default_device()

    def device_name(self, device: int) -> str:
        return self.string(self._send(device, "name"))

    def supports_family(self, device: int, family: int) -> bool:
        return bool(self._send(device, "supportsFamily:", BOOL, (NSInteger,), family))

    def new_library(self, device: int, data: bytes) -> tuple[int | None, int | None]:
        """``newLibraryWithData:error:`` on a ``dispatch_data_t`` copy of ``data``."""
        blob = self.rt.dispatch_data(data)
        if not blob:
            raise MemoryError("dispatch_data_create returned NULL")
        error = ctypes.c_void_p()
        try:
            library = self._send(device, "newLibraryWithData:error:", ID, (ID, ERROR_OUT),
                                 blob, ctypes.pointer(error))
        finally:
            self.rt.dispatch_release(blob)
        return library, error.value

    def function_names(self, library: int) -> list[str]:
        return self.string_array(self._send(library, "functionNames"))

    def new_function(self, library: int, name: str) -> int | None:
        return self._send(library, "newFunctionWithName:", ID, (ID,), self.nsstring(name))

    def new_pipeline(self, device: int, function: int) -> tuple[int | None, int | None]:
        error = ctypes.c_void_p()
        pipeline = self._send(device, "newComputePipelineStateWithFunction:error:", ID,
                              (ID, ERROR_OUT), function, ctypes.pointer(error))
        return pipeline, error.value

    def max_threads_per_threadgroup(self, pipeline: int) -> int:
        return int(self._send(pipeline, "maxTotalThreadsPerThreadgroup", NSUInteger))

    def static_threadgroup_memory(self, pipeline: int) -> int:
        return int(self._send(pipeline, "staticThreadgroupMemoryLength", NSUInteger))

    def new_command_queue(self, device: int) -> int | None:
        return self._send(device, "newCommandQueue")

    def new_buffer(self, device: int, address: int, length: int) -> int | None:
        """``newBufferWithBytes:length:options:`` (shared storage: the CPU reads it back)."""
        return self._send(device, "newBufferWithBytes:length:options:", ID,
                          (ctypes.c_void_p, NSUInteger, NSUInteger), address, length,
                          MTL_RESOURCE_STORAGE_MODE_SHARED)

    def new_empty_buffer(self, device: int, length: int) -> int | None:
        return self._send(device, "newBufferWithLength:options:", ID, (NSUInteger, NSUInteger),
                          length, MTL_RESOURCE_STORAGE_MODE_SHARED)

    def buffer_contents(self, buffer: int) -> int:
        return int(self._send(buffer, "contents", ctypes.c_void_p) or 0)

    # ----------------------------------------------------------- encoding

    def command_buffer(self, queue: int) -> int | None:
        return self._send(queue, "commandBuffer")

    def compute_encoder(self, command_buffer: int) -> int | None:
        return self._send(command_buffer, "computeCommandEncoder")

    def set_pipeline(self, encoder: int, pipeline: int) -> None:
        self._send(encoder, "setComputePipelineState:", None, (ID,), pipeline)

    def set_buffer(self, encoder: int, buffer: int, index: int, offset: int = 0) -> None:
        self._send(encoder, "setBuffer:offset:atIndex:", None, (ID, NSUInteger, NSUInteger),
                   buffer, offset, index)

    def set_bytes(self, encoder: int, address: int, length: int, index: int) -> None:
        self._send(encoder, "setBytes:length:atIndex:", None,
                   (ctypes.c_void_p, NSUInteger, NSUInteger), address, length, index)

    def set_threadgroup_memory_length(self, encoder: int, length: int, index: int) -> None:
        self._send(encoder, "setThreadgroupMemoryLength:atIndex:", None,
                   (NSUInteger, NSUInteger), length, index)

    def dispatch_threads(self, encoder: int, grid: Sequence[int],
                         threadgroup: Sequence[int]) -> None:
        self._send(encoder, "dispatchThreads:threadsPerThreadgroup:", None, (MTLSize, MTLSize),
                   _size(grid), _size(threadgroup))

    def end_encoding(self, encoder: int) -> None:
        self._send(encoder, "endEncoding", None)

    def commit(self, command_buffer: int) -> None:
        self._send(command_buffer, "commit", None)

    def wait_until_completed(self, command_buffer: int) -> None:
        self._send(command_buffer, "waitUntilCompleted", None)

    def status(self, command_buffer: int) -> int:
        return int(self._send(command_buffer, "status", NSUInteger))

    def command_buffer_error(self, command_buffer: int) -> tuple[int, str]:
        """The command buffer's ``MTLCommandBufferError`` code and description."""
        error = self._send(command_buffer, "error")
        if not error:
            return 0, "no error object"
        return int(self._send(error, "code", NSInteger)), self.error_text(error)


__all__ = ["COMMAND_BUFFER_COMPLETED", "COMMAND_BUFFER_ERRORS", "COMMAND_BUFFER_STATUS",
           "GPU_FAMILIES", "MTLSize", "MetalAPI", "ObjCRuntime", "Runtime"]
