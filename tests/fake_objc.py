"""A fake Objective-C runtime for the Metal path's tests (see ``test_metal.py``).

It checks every message the way ``objc_msgSend`` needs it (one C type per selector
argument, each value convertible to its type, a valid ctypes prototype), keeps
Metal's objects as dicts (buffers are real memory), and its "GPU" runs the kernel
on the CPU runner from the library bytes and the bindings it was given.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from llvm_to_air.metal.objc import MTLSize
from llvm_to_air.metallib import read_metallib

AUTORELEASED = {"command_buffer", "encoder", "string", "array", "error"}


class FakeRuntime:
    """Objective-C runtime stand-in: objects are dicts, handles are ints."""

    def __init__(self, fail: str | None = None, gpu: bool = True) -> None:
        self.fail = fail
        self.gpu = gpu
        self.objects: dict[int, dict[str, Any]] = {}
        self.messages: list[tuple[str, str]] = []
        self.released: list[int] = []
        self.dispatch_released: list[int] = []
        self.classes = {name: self._new("class:" + name) for name in
                        ("NSAutoreleasePool", "NSString")}

    def _new(self, kind: str, **attrs: Any) -> int:
        handle = 0x1000 + 0x10 * len(self.objects)
        self.objects[handle] = {"kind": kind, "handle": handle, **attrs}
        return handle

    def kinds(self, kind: str) -> list[int]:
        return [h for h, o in self.objects.items() if o["kind"] == kind]

    # ------------------------------------------------------ the runtime

    def get_class(self, name: str) -> int | None:
        return self.classes.get(name)

    def create_system_default_device(self) -> int | None:
        return self._new("device") if self.gpu else None

    def dispatch_data(self, data: bytes) -> int:
        return self._new("dispatch_data", data=bytes(data))

    def dispatch_release(self, obj: int) -> None:
        self.dispatch_released.append(obj)

    def send(self, receiver: int | None, selector: str, restype: Any, argtypes: Any,
             *args: Any) -> Any:
        assert selector.count(":") == len(argtypes) == len(args), selector
        ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p, *argtypes)
        for ctype, value in zip(argtypes, args, strict=True):
            if isinstance(ctype, type) and issubclass(ctype, ctypes.Structure):
                assert isinstance(value, ctype), (selector, value)
            else:
                ctype.from_param(value)  # TypeError when the value does not fit the C type
        assert receiver in self.objects, (selector, receiver)
        obj = self.objects[receiver]
        assert obj["handle"] not in self.released, f"message {selector} to a released object"
        self.messages.append((obj["kind"], selector))
        return getattr(self, "m_" + selector.replace(":", "_"))(obj, *args)

    # ------------------------------------------------------ Foundation

    def m_alloc(self, cls: dict) -> int:
        return self._new("pool")

    def m_init(self, pool: dict) -> int:
        return pool["handle"]

    def m_drain(self, pool: dict) -> None:
        pool["drained"] = True

    def m_release(self, obj: dict) -> None:
        assert obj["kind"] not in AUTORELEASED, f"released an autoreleased {obj['kind']}"
        self.released.append(obj["handle"])

    def m_stringWithUTF8String_(self, cls: dict, raw: bytes) -> int:
        return self._new("string", text=raw.decode())

    def m_UTF8String(self, string: dict) -> bytes:
        return string["text"].encode()

    def m_count(self, array: dict) -> int:
        return len(array["items"])

    def m_objectAtIndex_(self, array: dict, k: int) -> int:
        return array["items"][k]

    def m_localizedDescription(self, error: dict) -> int:
        return self._new("string", text=error["text"])

    def m_domain(self, error: dict) -> int:
        return self._new("string", text=error["domain"])

    def m_code(self, error: dict) -> int:
        return error["code"]

    def _error(self, pointer: Any, text: str, domain: str, code: int) -> None:
        pointer[0] = self._new("error", text=text, domain=domain, code=code)

    # ---------------------------------------------------------- device

    def m_name(self, device: dict) -> int:
        return self._new("string", text="Fake GPU")

    def m_supportsFamily_(self, device: dict, family: int) -> int:
        return int(family in (1009, 2002, 5001))

    def m_newLibraryWithData_error_(self, device: dict, blob: int, error: Any) -> int | None:
        data = self.objects[blob]["data"]
        if self.fail == "library" or data[:4] != b"MTLB":
            self._error(error, "Invalid library file", "MTLLibraryErrorDomain", 1)
            return None
        names = [str(entry.value("NAME")) for entry in read_metallib(data).functions]
        return self._new("library", data=data, names=names)

    def m_functionNames(self, library: dict) -> int:
        return self._new("array", items=[self._new("string", text=n) for n in library["names"]])

    def m_newFunctionWithName_(self, library: dict, name: int) -> int | None:
        text = self.objects[name]["text"]
        if text not in library["names"]:
            return None
        return self._new("function", name=text, data=library["data"])

    def m_newComputePipelineStateWithFunction_error_(self, device: dict, function: int,
                                                     error: Any) -> int | None:
        if self.fail == "pipeline":
            self._error(error, "Compiler encountered an internal error",
                        "CompilerError", 2)
            return None
        return self._new("pipeline", function=self.objects[function])

    def m_maxTotalThreadsPerThreadgroup(self, pipeline: dict) -> int:
        return 256 if self.fail == "small" else 1024

    def m_staticThreadgroupMemoryLength(self, pipeline: dict) -> int:
        return 0

    def m_newCommandQueue(self, device: dict) -> int:
        return self._new("queue")

    def m_newBufferWithBytes_length_options_(self, device: dict, address: int, length: int,
                                             options: int) -> int:
        assert options == 0 and length > 0
        memory = ctypes.create_string_buffer(length)
        ctypes.memmove(memory, address, length)
        return self._new("buffer", memory=memory, length=length)

    def m_newBufferWithLength_options_(self, device: dict, length: int, options: int) -> int:
        return self._new("buffer", memory=ctypes.create_string_buffer(length), length=length)

    def m_contents(self, buffer: dict) -> int:
        return ctypes.addressof(buffer["memory"])

    # -------------------------------------------------------- encoding

    def m_commandBuffer(self, queue: dict) -> int:
        return self._new("command_buffer", status=0, error=None)

    def m_computeCommandEncoder(self, command_buffer: dict) -> int:
        encoder = self._new("encoder", buffers={}, bytes={}, memory={}, ended=False)
        command_buffer["encoder"] = self.objects[encoder]
        return encoder

    def m_setComputePipelineState_(self, encoder: dict, pipeline: int) -> None:
        encoder["pipeline"] = self.objects[pipeline]

    def m_setBuffer_offset_atIndex_(self, encoder: dict, buffer: int, offset: int,
                                    index: int) -> None:
        encoder["buffers"][index] = (self.objects[buffer], offset)

    def m_setBytes_length_atIndex_(self, encoder: dict, address: int, length: int,
                                   index: int) -> None:
        encoder["bytes"][index] = ctypes.string_at(address, length)  # Metal copies them now

    def m_setThreadgroupMemoryLength_atIndex_(self, encoder: dict, length: int,
                                              index: int) -> None:
        encoder["memory"][index] = length

    def m_dispatchThreads_threadsPerThreadgroup_(self, encoder: dict, grid: MTLSize,
                                                 threadgroup: MTLSize) -> None:
        encoder["grid"] = (grid.width, grid.height, grid.depth)
        encoder["threadgroup"] = (threadgroup.width, threadgroup.height, threadgroup.depth)

    def m_endEncoding(self, encoder: dict) -> None:
        encoder["ended"] = True

    def m_commit(self, command_buffer: dict) -> None:
        assert command_buffer["encoder"]["ended"]
        command_buffer["status"] = 2
        command_buffer["polls"] = 0

    def m_waitUntilCompleted(self, command_buffer: dict) -> None:
        assert command_buffer["status"] >= 4, "waitUntilCompleted before completion"

    def finish(self, command_buffer: dict) -> None:
        """The GPU's work, done after a few status polls (never, with fail="hang")."""
        if self.fail == "hang":
            return
        if self.fail == "command":
            command_buffer["status"] = 5
            command_buffer["error"] = self._new(
                "error", text="Discarded (victim of GPU error/recovery)",
                domain="MTLCommandBufferErrorDomain", code=3)
            return
        self.gpu_run(command_buffer["encoder"])
        command_buffer["status"] = 4

    def m_status(self, command_buffer: dict) -> int:
        if command_buffer["status"] == 2:
            command_buffer["polls"] += 1
            if command_buffer["polls"] >= 3:
                self.finish(command_buffer)
        return command_buffer["status"]

    def m_error(self, command_buffer: dict) -> int | None:
        return command_buffer["error"]

    def gpu_run(self, encoder: dict) -> None:
        """The "GPU": the CPU runner on the library bytes, over the bound memory."""
        from llvm_to_air.runner import run

        function = encoder["pipeline"]["function"]
        bound: dict[int, Any] = {}
        for index, (buffer, offset) in encoder["buffers"].items():
            raw = (ctypes.c_uint8 * buffer["length"]).from_buffer(buffer["memory"])
            bound[index] = np.ctypeslib.as_array(raw)[offset:].view("V1")
        for index, data in encoder["bytes"].items():
            bound[index] = np.frombuffer(bytearray(data), np.uint8).view("V1")
        run(function["data"], function["name"], encoder["grid"], encoder["threadgroup"],
            bound, encoder["memory"])
