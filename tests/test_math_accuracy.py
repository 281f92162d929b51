"""Accuracy of the CPU math functors (simd_math.h: libmvec, rint-based rounding, fma-based remainders) in ULPs
against a higher-precision reference (float32 against float64 NumPy, float64 against NumPy longdouble), over
wide input ranges, plus the special values (+-0, +-inf, NaN) and torch's sign rules, bit for bit."""

import numpy as np
import pytest
import torch

import gradcore as gc

RNG = np.random.default_rng(1234)
LD = np.longdouble
HAVE_LD = np.finfo(LD).nmant >= 63  # x86 80-bit long double: 11 bits beyond float64

# name -> (NumPy function, domain filter, max ULP bound). The bounds are the measured maxima rounded up
# (libmvec documents <= 4 ulp for every function); see benchmarks/NOTES.md "Math functors (session 5)".
UNARY = {
    "sin": (np.sin, None, 4), "cos": (np.cos, None, 4), "tan": (np.tan, None, 4),
    "asin": (np.arcsin, lambda x: np.abs(x) <= 1, 4), "acos": (np.arccos, lambda x: np.abs(x) <= 1, 4),
    "atan": (np.arctan, None, 4), "sinh": (np.sinh, None, 4), "cosh": (np.cosh, None, 4),
    "asinh": (np.arcsinh, None, 4), "acosh": (np.arccosh, lambda x: x >= 1, 4),
    "atanh": (np.arctanh, lambda x: np.abs(x) < 1, 4), "log1p": (np.log1p, lambda x: x > -1, 4),
    "expm1": (np.expm1, None, 4), "log2": (np.log2, lambda x: x > 0, 4),
    "log10": (np.log10, lambda x: x > 0, 4), "exp2": (np.exp2, None, 4),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x: x > 0, 1.5), "reciprocal": (lambda x: 1 / x, None, 0.5),
}  # fmt: skip
BINARY = {"atan2": (np.arctan2, 4), "hypot": (np.hypot, 4)}
SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5]


def _wide(n: int, dtype, max_exp: int) -> np.ndarray:
    """Random signs and magnitudes spread log-uniformly over 2^-40 .. 2^max_exp, plus uniform [-4, 4]."""
    mags = np.exp2(RNG.uniform(-40, max_exp, n)) * RNG.choice([-1.0, 1.0], n)
    return np.concatenate([mags, RNG.uniform(-4, 4, n)]).astype(dtype)


def _ulp(ref: np.ndarray, dtype) -> np.ndarray:
    """The spacing of `dtype` at each reference value (subnormal spacing below the normal range)."""
    fi = np.finfo(dtype)
    _, e = np.frexp(np.abs(ref).astype(np.float64))
    e = np.maximum(e.astype(np.int64) - 1, fi.minexp)
    return np.ldexp(np.ones_like(ref, dtype=LD), e - fi.nmant)


def _max_ulp(out: np.ndarray, ref: np.ndarray, dtype) -> float:
    """Max |out - ref| in ULPs of dtype where the reference is finite and representable; elsewhere the
    result must be the same special (inf of the same sign, NaN)."""
    with np.errstate(over="ignore"):
        ref_rounded = ref.astype(dtype)
    finite = np.isfinite(ref_rounded)
    np.testing.assert_array_equal(out[~finite], ref_rounded[~finite])
    err = np.abs(out[finite].astype(LD) - ref[finite].astype(LD)) / _ulp(ref[finite], dtype)
    return float(err.max()) if err.size else 0.0


def _reference(fn, x: np.ndarray, dtype) -> np.ndarray:
    with np.errstate(all="ignore"):
        if dtype == np.float32:
            return fn(x.astype(np.float64))
        return fn(x.astype(LD))


def _run(name: str, *xs: np.ndarray) -> np.ndarray:
    return getattr(gc, name)(*[gc.tensor(x) for x in xs]).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ulp_bound(name, dtype):
    if dtype == np.float64 and not HAVE_LD:
        pytest.skip("needs an 80-bit long double reference")  # pragma: no cover - x86 only
    fn, domain, bound = UNARY[name]
    max_exp = 127 if dtype == np.float32 else 1023
    x = np.concatenate([_wide(20000, dtype, max_exp), np.array(SPECIALS, dtype)])
    if domain is not None:
        x = x[domain(x) | np.isnan(x)]
    out = _run(name, x)
    ulp = _max_ulp(out, _reference(fn, x, dtype), dtype)
    assert ulp <= bound, f"{name} {np.dtype(dtype).name}: {ulp:.2f} ulp > {bound}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_specials_match_torch(name, dtype):
    """+-0, +-inf, NaN and out-of-domain inputs give torch's NaN / inf / signed zero; other values agree
    with torch within 4 ulp (different libraries round differently)."""
    x = np.array(SPECIALS + [2.0, -2.0, 1e30, -1e30], dtype)
    with np.errstate(all="ignore"):
        out = _run(name, x)
        ref = getattr(torch, name)(torch.from_numpy(x)).numpy()
    plain = np.isfinite(ref) & (ref != 0)
    np.testing.assert_array_equal(out[~plain], ref[~plain])
    zero = ref == 0
    np.testing.assert_array_equal(np.signbit(out[zero]), np.signbit(ref[zero]))
    np.testing.assert_allclose(out[plain], ref[plain], rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sin_cos_huge_arguments(dtype):
    """Range reduction stays exact far beyond 2^20 (glibc's slow path), up to the largest finite value."""
    big = np.array([1e5, 1e10, 2.0**60, 1e22, 3e38, np.finfo(dtype).max, -1e22], dtype)
    for name, fn in (("sin", np.sin), ("cos", np.cos)):
        assert _max_ulp(_run(name, big), _reference(fn, big, dtype), dtype) <= 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ulp_bound(name, dtype):
    fn, bound = BINARY[name]
    max_exp = 127 if dtype == np.float32 else 1023
    a, b = _wide(10000, dtype, max_exp), _wide(10000, dtype, max_exp)
    sp = np.array(SPECIALS, dtype)
    a = np.concatenate([a, np.repeat(sp, len(sp))])
    b = np.concatenate([b, np.tile(sp, len(sp))])
    wide = np.float64 if dtype == np.float32 else LD
    with np.errstate(all="ignore"):
        ref = fn(a.astype(wide), b.astype(wide))
    ulp = _max_ulp(_run(name, a, b), ref, dtype)
    assert ulp <= bound, f"{name} {np.dtype(dtype).name}: {ulp:.2f} ulp > {bound}"


def _division_operands(dtype, n=4000):
    """Dividends and divisors of every sign and magnitude, ties for floor, zero / inf / NaN operands and
    quotients beyond 2^53 (the exact fallback path)."""
    max_exp = 120 if dtype == np.float32 else 1000
    a, b = _wide(n, dtype, 60), _wide(n, dtype, 20)
    huge = _wide(200, dtype, max_exp)
    ints = RNG.integers(-50, 50, n).astype(dtype)
    divs = RNG.choice(np.array([-4, -3, -2, -1, -0.5, 0.5, 1, 2, 3, 4], dtype), n)
    sp = np.array(SPECIALS + [3.0, -3.0, 7.5], dtype)
    a = np.concatenate([a, huge, ints, np.repeat(sp, len(sp)), huge[:100]])
    b = np.concatenate([b, huge[::-1], divs, np.tile(sp, len(sp)), np.full(100, 3.0, dtype)])
    return a, b


def _exact_reference(name):
    """C's fmod (NumPy, exact) and torch's documented remainder built on it: fmod, plus b where the
    nonzero result's sign differs from b's (a zero result keeps the dividend's sign, as torch)."""

    def ref(ta, tb):
        a, b = np.broadcast_arrays(ta.numpy(), tb.numpy())
        with np.errstate(all="ignore"):
            m = np.fmod(a, b)
            if name == "remainder":
                m = np.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)
        return torch.from_numpy(np.ascontiguousarray(m))

    return ref


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "copysign"])
def test_division_family_bitwise_torch(name, dtype):
    """Exact: bit-for-bit torch's float results (signs of zero, Python's floor semantics for remainder
    and floor_divide, NaN/inf for zero divisors), in every layout the kernels special-case."""
    a, b = _division_operands(dtype)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    fn = getattr(torch, name)
    if name in ("fmod", "remainder"):
        fn = _exact_reference(name)  # torch's float32 fmod by a scalar gives NaN for huge quotients
    s = float(b[7])
    cases = [
        (_run(name, a, b), fn(ta, tb)),  # both contiguous
        (getattr(gc.tensor(a), name)(s).numpy(), fn(ta, torch.full_like(ta, s))),  # tensor op scalar
        (_run(name, a[5:6], b), fn(ta[5:6], tb)),  # broadcast dividend
        (getattr(gc, name)(gc.tensor(a)[::2], gc.tensor(b)[::2]).numpy(), fn(ta[::2], tb[::2])),  # strided
    ]
    with np.errstate(all="ignore"):
        for out, ref in cases:
            ref = ref.numpy()
            np.testing.assert_array_equal(out, ref)
            num = ~np.isnan(ref)  # a NaN's sign bit is not part of any contract
            np.testing.assert_array_equal(np.signbit(out[num]), np.signbit(ref[num]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "frac"])
def test_rounding_exact(name, dtype):
    """Bit-exact, with -0 kept (floor(-0.0), ceil(-0.5)), ties to even for round, huge and special values."""
    x = np.concatenate([_wide(20000, dtype, 120), np.arange(-8, 8.5, 0.5, dtype=dtype),
                        np.array(SPECIALS + [2.0**52 + 0.5 if dtype == np.float64 else 2.0**22 + 0.5,
                                             -0.49999997, 0.49999997], dtype)])
    with np.errstate(all="ignore"):
        out = _run(name, x)
        ref = getattr(torch, name)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(out, ref)
    num = ~np.isnan(ref)
    np.testing.assert_array_equal(np.signbit(out[num]), np.signbit(ref[num]))


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("name", ["remainder", "floor_divide", "fmod"])
def test_integer_division_exact(name, dtype):
    info = np.iinfo(dtype)
    edges = np.array([info.min, info.max, 0, -7, 7], dtype)
    a = np.concatenate([RNG.integers(info.min, info.max, 3000, dtype=dtype), edges])
    b = np.concatenate([RNG.integers(-1000, 1000, 3000, dtype=dtype), np.array([3, -3, 5, 2, -2], dtype)])
    b[b == 0] = 1
    b[-1] = -1
    out = _run(name, a, b)
    ref = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_ulp_bound(dtype):
    """erf (exact GELU) through libmvec: <= 4 ulp (float32 measured 4.00 over 200k points, float64 1.94);
    references from math.erf (float32) and 80-bit mpmath (float64)."""
    import math

    import mpmath

    n = 4000 if dtype == np.float32 else 150
    x = np.concatenate([_wide(n, dtype, 3), RNG.uniform(-6, 6, n).astype(dtype), np.array(SPECIALS, dtype)])
    if dtype == np.float32:
        ref = np.array([math.erf(float(v)) for v in x])
    else:
        with mpmath.workprec(80):
            ref = np.array([LD(str(mpmath.erf(mpmath.mpf(float(v))))) if np.isfinite(v) else LD(math.erf(v))
                            for v in x], dtype=LD)
    assert _max_ulp(_run("erf", x), ref, dtype) <= 4
