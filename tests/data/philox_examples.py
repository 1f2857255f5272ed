#!/usr/bin/env python3
"""
philox_examples.py -- second, independent (pure Python) Philox4x32 implementation.

1. Re-verifies every vector in philox4x32_kat.txt (cross-check of tests/test_philox.c).
2. Emulates cuRAND's curand_init(seed, subsequence, offset) + curand4()/curand_uniform4()
   for Philox4_32_10 (as read from cuRAND's curand_kernel.h / curand_philox4x32_x.h)
   and prints the worked examples quoted in docs/dropout.md (saved as philox_examples_output.txt, which tests/test_philox.c reads).
3. Shows the uint32 -> float conventions of cuRAND, JAX, PyTorch-CPU, ATen Philox/Triton
   applied to the same words.

Run: /usr/bin/python3 philox_examples.py   (exit 0 iff the KAT check passes)
"""
import os
import sys

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32(ctr, key, rounds=10):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ c3 ^ k1) & MASK, p0 & MASK
    return [c0, c1, c2, c3]


def check_kat(path):
    n = bad = 0
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        lhs, rhs = line.split("->")
        t = lhs.split()
        r = int(t[0])
        ctr = [int(v, 16) for v in t[1:5]]
        key = [int(v, 16) for v in t[5:7]]
        exp = [int(v, 16) for v in rhs.split()]
        n += 1
        if philox4x32(ctr, key, r) != exp:
            bad += 1
            print("KAT FAIL:", line)
    return n, bad


class CurandPhilox:
    """Host emulation of curandStatePhilox4_32_10_t (integer part only, no Box-Muller)."""

    def __init__(self, seed, subsequence, offset):
        self.key = [seed & MASK, (seed >> 32) & MASK]
        c = subsequence << 64                      # skipahead_sequence: ctr.z/ctr.w += subsequence
        self.state = offset & 3                    # skipahead(offset): STATE = offset % 4
        c += offset >> 2                           #                    128-bit counter += offset / 4
        self.ctr = c & ((1 << 128) - 1)
        self.output = self._gen()

    def _ctr_words(self):
        return [(self.ctr >> (32 * i)) & MASK for i in range(4)]

    def _gen(self):
        return philox4x32(self._ctr_words(), self.key, 10)

    def _incr(self):
        self.ctr = (self.ctr + 1) & ((1 << 128) - 1)

    def curand(self):
        ret = self.output[self.state]
        self.state += 1
        if self.state == 4:
            self._incr()
            self.output = self._gen()
            self.state = 0
        return ret

    def curand4(self):
        tmp = self.output
        self._incr()
        self.output = self._gen()
        s = self.state
        return tmp[s:] + self.output[:s]


f32 = np.float32
CURAND_2POW32_INV = f32(2.3283064e-10)


def u_curand(x):
    # x * CURAND_2POW32_INV + CURAND_2POW32_INV/2 ; (unsigned -> float conversion rounds first).
    # Plain mul+add in fp32; nvcc may contract to an FMA, which can differ in the last bit.
    return f32(f32(x) * CURAND_2POW32_INV) + f32(CURAND_2POW32_INV / f32(2))


def u_jax(x):
    # jax.random.uniform float32: (bits >> 9) | 0x3F800000, bitcast, minus 1.0   -> [0, 1-2^-23]
    b = np.array([(x >> 9) | 0x3F800000], dtype=np.uint32).view(np.float32)[0]
    return f32(b - f32(1.0))


def u_torch_cpu(x):
    # ATen uniform_real<float>: (x & (2^24-1)) * 2^-24   (LOW 24 bits)          -> [0, 1-2^-24]
    return f32(f32(x & 0xFFFFFF) * f32(2.0 ** -24))


def u_aten_philox(x):
    # at::Philox4_32::uint32_to_uniform_float: (x & 0x7FFFFFFF) * 4.6566127342e-10
    return f32(f32(x & 0x7FFFFFFF) * f32(4.6566127342e-10))


def u_triton(x):
    # triton uint_to_uniform_float: bitcast to int32, negative -> -x-1, * 4.6566127342e-10
    s = x - (1 << 32) if x & 0x80000000 else x
    if s < 0:
        s = -s - 1
    return f32(f32(s) * f32(4.6566127342e-10))


def u_hi24(x):
    # (x >> 8) * 2^-24 : exact in fp32, 24 random bits (the top ones)          -> [0, 1-2^-24]
    return f32(f32(x >> 8) * f32(2.0 ** -24))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    n, bad = check_kat(os.path.join(here, "philox4x32_kat.txt"))
    print(f"KAT re-check (Python implementation): {n} vectors, {bad} failures")

    print("\ncuRAND curand_init(seed, subsequence, offset) -> first curand4() block")
    for seed, sub, off in [(0, 0, 0), (42, 0, 0), (42, 1, 0), (42, 0, 4), (42, 0, 2),
                           (0x123456789ABCDEF0, 7, 8)]:
        st = CurandPhilox(seed, sub, off)
        ctr = st._ctr_words()
        w = st.curand4()
        print(f"  seed={seed:#x} subseq={sub} offset={off}: ctr(before)={[hex(v) for v in ctr]} "
              f"key={[hex(v) for v in st.key]} -> {' '.join(f'{v:08x}' for v in w)}")
    # consistency: curand() one at a time == curand4() blocks
    a, b = CurandPhilox(42, 3, 6), CurandPhilox(42, 3, 6)
    seq1 = [a.curand() for _ in range(12)]
    seq2 = b.curand4() + b.curand4() + b.curand4()
    print("  curand() x12 == curand4() x3 for offset=6:", seq1 == seq2)
    # offset semantics: offset counts 32-bit values, i.e. offset=4 == skip one Philox block
    s0, s4 = CurandPhilox(9, 0, 0), CurandPhilox(9, 0, 4)
    first8 = [s0.curand() for _ in range(8)]
    print("  offset counts 32-bit outputs (offset=4 starts at 5th value of offset=0):",
          first8[4:8] == [s4.curand() for _ in range(4)])

    print("\nuint32 -> float conventions on the same words")
    words = [0x00000000, 0x00000001, 0x000000FF, 0x00000100, 0x7FFFFFFF, 0x80000000, 0xFFFFFEFF,
             0xFFFFFF7F, 0xFFFFFFFF] + CurandPhilox(42, 0, 0).curand4()
    print(f"  {'word':>10} {'cuRAND(0,1]':>14} {'JAX[0,1)':>14} {'torchCPU[0,1)':>14} "
          f"{'ATenPhilox':>14} {'Triton':>14} {'(x>>8)*2^-24':>14}")
    for x in words:
        print(f"  {x:#010x} {u_curand(x):14.9g} {u_jax(x):14.9g} {u_torch_cpu(x):14.9g} "
              f"{u_aten_philox(x):14.9g} {u_triton(x):14.9g} {u_hi24(x):14.9g}")
    return 0 if (n > 0 and bad == 0) else 1


if __name__ == "__main__":
    sys.exit(main())
