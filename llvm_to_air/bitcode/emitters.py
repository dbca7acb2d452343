"""Bitstream record emitter templates, generated ahead of time: do not edit.

Made by ``python3 tools/gen_emitters.py`` from :func:`llvm_to_air.bitcode.bitstream.
template_source`; ``tests/test_startup.py`` checks that regenerating gives this text.
Each template writes one record through an abbreviation of its shape; the widths and
literals are its defaults (see ``bitstream._compile``).
"""

from __future__ import annotations

from llvm_to_air.bitcode.bitstream import _CHAR6, _FLUSH_BITS, Emitter, TemplateKey, _vbr_bits


def _template_0(w, abbrev_id, code, ops, blob, p0=0):
    if len(ops) != 0:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_1(w, abbrev_id, code, ops, blob, p0=0, p1=0):
    if len(ops) != 1:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    if ops[0] != p1:
        raise ValueError(f'record operand does not match abbreviation literal {p1}')
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_2(w, abbrev_id, code, ops, blob, p0=0, p1=0):
    if len(ops) != 1:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_3(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    if len(ops) != 2:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    if ops[1] != p2:
        raise ValueError(f'record operand does not match abbreviation literal {p2}')
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_4(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    if len(ops) != 2:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    cur |= ops[1] << n
    n += p2
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_5(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0):
    if len(ops) != 3:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    cur |= ops[1] << n
    n += p2
    v = ops[2]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_6(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    cur |= ops[1] << n
    n += p2
    rest = ops[2:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        v = e
        if v < p4:
            cur |= v << n
            n += p3
        else:
            bits, used = _vbr_bits(v, p3)
            cur |= bits << n
            n += used
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_7(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0, p7=0, p8=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    v = ops[1]
    if v < p3:
        cur |= v << n
        n += p2
    else:
        bits, used = _vbr_bits(v, p2)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p4
    v = ops[3]
    if v < p6:
        cur |= v << n
        n += p5
    else:
        bits, used = _vbr_bits(v, p5)
        cur |= bits << n
        n += used
    rest = ops[4:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        v = e
        if v < p8:
            cur |= v << n
            n += p7
        else:
            bits, used = _vbr_bits(v, p7)
            cur |= bits << n
            n += used
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_8(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0, p7=0, p8=0, p9=0, p10=0):
    if len(ops) != 6:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    v = ops[1]
    if v < p3:
        cur |= v << n
        n += p2
    else:
        bits, used = _vbr_bits(v, p2)
        cur |= bits << n
        n += used
    v = ops[2]
    if v < p5:
        cur |= v << n
        n += p4
    else:
        bits, used = _vbr_bits(v, p4)
        cur |= bits << n
        n += used
    v = ops[3]
    if v < p7:
        cur |= v << n
        n += p6
    else:
        bits, used = _vbr_bits(v, p6)
        cur |= bits << n
        n += used
    v = ops[4]
    if v < p9:
        cur |= v << n
        n += p8
    else:
        bits, used = _vbr_bits(v, p8)
        cur |= bits << n
        n += used
    cur |= ops[5] << n
    n += p10
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_9(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    cur |= ops[0] << n
    n += p1
    rest = ops[1:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= e << n
        n += p2
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_10(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    if len(ops) != 1:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_11(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0):
    if len(ops) != 2:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    cur |= ops[1] << n
    n += p3
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_12(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0):
    if len(ops) != 3:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    cur |= ops[1] << n
    n += p3
    cur |= ops[2] << n
    n += p4
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_13(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0):
    if len(ops) != 4:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    cur |= ops[1] << n
    n += p3
    v = ops[2]
    if v < p5:
        cur |= v << n
        n += p4
    else:
        bits, used = _vbr_bits(v, p4)
        cur |= bits << n
        n += used
    cur |= ops[3] << n
    n += p6
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_14(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0):
    if len(ops) != 2:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_15(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0):
    if len(ops) != 3:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p5
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_16(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0):
    if len(ops) != 4:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p5
    cur |= ops[3] << n
    n += p6
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_17(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0, p7=0, p8=0, p9=0, p10=0, p11=0, p12=0):
    if len(ops) != 8:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p5
    v = ops[3]
    if v < p7:
        cur |= v << n
        n += p6
    else:
        bits, used = _vbr_bits(v, p6)
        cur |= bits << n
        n += used
    v = ops[4]
    if v < p9:
        cur |= v << n
        n += p8
    else:
        bits, used = _vbr_bits(v, p8)
        cur |= bits << n
        n += used
    cur |= ops[5] << n
    n += p10
    if ops[6] != p11:
        raise ValueError(f'record operand does not match abbreviation literal {p11}')
    if ops[7] != p12:
        raise ValueError(f'record operand does not match abbreviation literal {p12}')
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_18(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0, p7=0, p8=0, p9=0, p10=0, p11=0, p12=0):
    if len(ops) != 8:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p5
    v = ops[3]
    if v < p7:
        cur |= v << n
        n += p6
    else:
        bits, used = _vbr_bits(v, p6)
        cur |= bits << n
        n += used
    v = ops[4]
    if v < p9:
        cur |= v << n
        n += p8
    else:
        bits, used = _vbr_bits(v, p8)
        cur |= bits << n
        n += used
    cur |= ops[5] << n
    n += p10
    cur |= ops[6] << n
    n += p11
    if ops[7] != p12:
        raise ValueError(f'record operand does not match abbreviation literal {p12}')
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_19(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0, p4=0, p5=0, p6=0, p7=0, p8=0, p9=0, p10=0, p11=0, p12=0):
    if len(ops) != 8:
        raise ValueError('record operands do not match the abbreviation')
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    v = ops[1]
    if v < p4:
        cur |= v << n
        n += p3
    else:
        bits, used = _vbr_bits(v, p3)
        cur |= bits << n
        n += used
    cur |= ops[2] << n
    n += p5
    v = ops[3]
    if v < p7:
        cur |= v << n
        n += p6
    else:
        bits, used = _vbr_bits(v, p6)
        cur |= bits << n
        n += used
    v = ops[4]
    if v < p9:
        cur |= v << n
        n += p8
    else:
        bits, used = _vbr_bits(v, p8)
        cur |= bits << n
        n += used
    cur |= ops[5] << n
    n += p10
    cur |= ops[6] << n
    n += p11
    cur |= ops[7] << n
    n += p12
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_20(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    rest = ops[1:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= e << n
        n += p3
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_21(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    rest = ops[1:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= _CHAR6[e] << n
        n += 6
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_22(w, abbrev_id, code, ops, blob, p0=0, p1=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    rest = ops[0:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= e << n
        n += p1
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_23(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    rest = ops[0:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        v = e
        if v < p2:
            cur |= v << n
            n += p1
        else:
            bits, used = _vbr_bits(v, p1)
            cur |= bits << n
            n += used
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_24(w, abbrev_id, code, ops, blob, p0=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    if code != p0:
        raise ValueError(f'record operand does not match abbreviation literal {p0}')
    rest = ops[0:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= _CHAR6[e] << n
        n += 6
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


def _template_25(w, abbrev_id, code, ops, blob, p0=0, p1=0, p2=0, p3=0):
    cur = w._cur
    n = w._nbits
    cur |= abbrev_id << n
    n += w._width
    cur |= code << n
    n += p0
    v = ops[0]
    if v < p2:
        cur |= v << n
        n += p1
    else:
        bits, used = _vbr_bits(v, p1)
        cur |= bits << n
        n += used
    rest = ops[1:]
    count = len(rest)
    v = count
    if v < 32:
        cur |= v << n
        n += 6
    else:
        bits, used = _vbr_bits(v, 6)
        cur |= bits << n
        n += used
    for e in rest:
        cur |= e << n
        n += p3
        if n >= _FLUSH_BITS:
            w._cur = cur
            w._nbits = n
            w._flush_bytes()
            cur = w._cur
            n = w._nbits
    w._cur = cur
    w._nbits = n
    if n >= 64:
        w._flush_bytes()


TEMPLATES: dict[TemplateKey, Emitter] = {
    ((0, 0),): _template_0,
    ((0, 0), (0, 0)): _template_1,
    ((0, 0), (1, 0)): _template_2,
    ((0, 0), (1, 0), (0, 0)): _template_3,
    ((0, 0), (1, 0), (1, 0)): _template_4,
    ((0, 0), (1, 0), (1, 0), (2, 0)): _template_5,
    ((0, 0), (1, 0), (1, 0), (100, 2)): _template_6,
    ((0, 0), (1, 0), (2, 0), (1, 0), (2, 0), (100, 2)): _template_7,
    ((0, 0), (1, 0), (2, 0), (2, 0), (2, 0), (2, 0), (1, 0)): _template_8,
    ((0, 0), (1, 0), (100, 1)): _template_9,
    ((0, 0), (2, 0)): _template_10,
    ((0, 0), (2, 0), (1, 0)): _template_11,
    ((0, 0), (2, 0), (1, 0), (1, 0)): _template_12,
    ((0, 0), (2, 0), (1, 0), (2, 0), (1, 0)): _template_13,
    ((0, 0), (2, 0), (2, 0)): _template_14,
    ((0, 0), (2, 0), (2, 0), (1, 0)): _template_15,
    ((0, 0), (2, 0), (2, 0), (1, 0), (1, 0)): _template_16,
    ((0, 0), (2, 0), (2, 0), (1, 0), (2, 0), (2, 0), (1, 0), (0, 0), (0, 0)): _template_17,
    ((0, 0), (2, 0), (2, 0), (1, 0), (2, 0), (2, 0), (1, 0), (1, 0), (0, 0)): _template_18,
    ((0, 0), (2, 0), (2, 0), (1, 0), (2, 0), (2, 0), (1, 0), (1, 0), (1, 0)): _template_19,
    ((0, 0), (2, 0), (100, 1)): _template_20,
    ((0, 0), (2, 0), (100, 4)): _template_21,
    ((0, 0), (100, 1)): _template_22,
    ((0, 0), (100, 2)): _template_23,
    ((0, 0), (100, 4)): _template_24,
    ((1, 0), (2, 0), (100, 1)): _template_25,
}
