"""Host definitions of AIR's 8x8 SIMD-group matrix functions (``simdgroup_matrix``).

AIR passes a SIMD-group matrix as a ``<64 x T>`` value; how Apple spreads it over the 32
lanes is not visible to a kernel that only loads, multiplies and stores matrices (the
only uses ``llvm-to-air`` emits), so every thread here holds the whole matrix, row-major
(element ``8 * row + column``). The semantics follow MSL's ``simdgroup_load``/``store``
(``elements_per_row``, ``matrix_origin`` = (column, row), ``transpose_matrix``) and
``simdgroup_multiply_accumulate`` (``a * b + c``), with Metal.jl's AIR signatures:

- ``<64 x T> air.simdgroup_matrix_8x8_load.v64<T>.p<N><T>(T* src, i64 elements_per_row,
  <2 x i64> origin, i1 transpose)``: ``M[r][c] = src[(y + r) * epr + x + c]``, or with
  ``transpose`` ``M[r][c] = src[(y + c) * epr + x + r]``;
- ``void air.simdgroup_matrix_8x8_store.v64<T>.p<N><T>(<64 x T>, T* dst, i64, <2 x i64>,
  i1)``: the inverse;
- ``<64 x D> air.simdgroup_matrix_8x8_multiply_accumulate.v64<D>.v64<A>.v64<B>.v64<D>``:
  products and sums in float (exact products of half inputs), rounded to ``D`` once.
"""

from __future__ import annotations

from llvm_to_air.ir.types import FunctionType, VectorType


def simdgroup_matrix_body(lines: list[str], name: str, fnty: FunctionType,
                          a: list[str]) -> str | None:
    """Append the body of ``name``; returns the result value (None for ``void``)."""
    op = name.split(".")[1].removeprefix("simdgroup_matrix_8x8_")
    if op == "load":
        vec = fnty.ret
        assert isinstance(vec, VectorType)
        return _load(lines, str(vec.element), str(fnty.params[0]), a)
    if op == "store":
        vec = fnty.params[0]
        assert isinstance(vec, VectorType)
        _store(lines, str(vec.element), str(fnty.params[1]), a)
        return None
    if op == "multiply_accumulate":
        ta, tb, tc = (p.element for p in fnty.params)  # type: ignore[attr-defined]
        return _mma(lines, str(ta), str(tb), str(tc), a)
    raise KeyError(name)


def _address(lines: list[str], elem: str, ptr_ty: str, a: list[str], r: int, c: int,
             tag: str) -> str:
    lines.append(f"  %row{tag} = select i1 {a[3]}, i64 {c}, i64 {r}")
    lines.append(f"  %col{tag} = select i1 {a[3]}, i64 {r}, i64 {c}")
    lines.append(f"  %yr{tag} = add i64 %y, %row{tag}")
    lines.append(f"  %base{tag} = mul i64 %yr{tag}, {a[1]}")
    lines.append(f"  %xc{tag} = add i64 %x, %col{tag}")
    lines.append(f"  %idx{tag} = add i64 %base{tag}, %xc{tag}")
    lines.append(f"  %p{tag} = getelementptr {elem}, {ptr_ty} {a[0]}, i64 %idx{tag}")
    return f"%p{tag}"


def _origin(lines: list[str], origin: str) -> None:
    lines.append(f"  %x = extractelement <2 x i64> {origin}, i32 0")
    lines.append(f"  %y = extractelement <2 x i64> {origin}, i32 1")


def _load(lines: list[str], elem: str, ptr_ty: str, a: list[str]) -> str:
    _origin(lines, a[2])
    value = "poison"
    for r in range(8):
        for c in range(8):
            tag = f"{r}{c}"
            ptr = _address(lines, elem, ptr_ty, a, r, c, tag)
            lines.append(f"  %v{tag} = load {elem}, {ptr_ty} {ptr}")
            lines.append(f"  %m{tag} = insertelement <64 x {elem}> {value}, {elem} %v{tag}, "
                         f"i32 {8 * r + c}")
            value = f"%m{tag}"
    return value


def _store(lines: list[str], elem: str, ptr_ty: str, a: list[str]) -> None:
    _origin(lines, a[3])
    shifted = [a[1], a[2], a[3], a[4]]  # ptr, epr, origin, transpose as _address expects
    for r in range(8):
        for c in range(8):
            tag = f"{r}{c}"
            ptr = _address(lines, elem, ptr_ty, [shifted[0], shifted[1], shifted[2],
                                                  shifted[3]], r, c, tag)
            lines.append(f"  %v{tag} = extractelement <64 x {elem}> {a[0]}, i32 {8 * r + c}")
            lines.append(f"  store {elem} %v{tag}, {ptr_ty} {ptr}")


def _widen(lines: list[str], ty: str, value: str, tag: str) -> str:
    if ty == "float":
        return value
    lines.append(f"  %w{tag} = fpext {ty} {value} to float")
    return f"%w{tag}"


def _mma(lines: list[str], ta: str, tb: str, tc: str, a: list[str]) -> str:
    value = "poison"
    for r in range(8):
        for c in range(8):
            tag = f"{r}_{c}"
            lines.append(f"  %c{tag} = extractelement <64 x {tc}> {a[2]}, i32 {8 * r + c}")
            acc = _widen(lines, tc, f"%c{tag}", f"c{tag}")
            for k in range(8):
                t = f"{tag}_{k}"
                lines.append(f"  %a{t} = extractelement <64 x {ta}> {a[0]}, i32 {8 * r + k}")
                lines.append(f"  %b{t} = extractelement <64 x {tb}> {a[1]}, i32 {8 * k + c}")
                x = _widen(lines, ta, f"%a{t}", f"a{t}")
                y = _widen(lines, tb, f"%b{t}", f"b{t}")
                lines.append(f"  %s{t} = call float @llvm.fma.f32(float {x}, float {y}, "
                             f"float {acc})")
                acc = f"%s{t}"
            if tc != "float":
                lines.append(f"  %n{tag} = fptrunc float {acc} to {tc}")
                acc = f"%n{tag}"
            lines.append(f"  %d{tag} = insertelement <64 x {tc}> {value}, {tc} {acc}, "
                         f"i32 {8 * r + c}")
            value = f"%d{tag}"
    return value
