#!/usr/bin/python3
"""Derives the polynomial coefficients of VMath.Exp (vector), VMath.Erf, VMath.Erfc and VMath.Tanh (src/IXC25.Backends.Cpu/Simd/VMath.cs).

Run with Debian's interpreter: /usr/bin/python3 src/IXC25.Backends.Cpu/Simd/tools/fit_vmath.py
(numpy + mpmath). Prints the C# constants and the maximum error in ulp of a float32 evaluation
(Horner with fused multiply-adds, as VMath does; exp correctly rounded) on a dense sample.

Method: weighted minimax fits by Lawson's iteratively reweighted least squares on 4000 Chebyshev
nodes against 40-digit mpmath values, then the coefficients are rounded to float32 one at a time,
highest degree first, re-fitting the lower ones after each rounding.

  exp (vector):         e^x = 2^n e^r, n = round(x log2 e), r = x - n ln2 (two-part ln2, fused), |r| <= ln2/2:
                        e^r = 1 + r + r^2 S(r), S of degree 4 (fits (e^r - 1 - r) / r^2)
  erf, |x| < 0.921875:  erf(x) = x + x * P(x^2),   P of degree 6 (fits erf(x)/x - 1)
  erf, |x| >= 0.921875: erf(x) = 1 - exp(Q(|x|)), Q of degree 8 on [0.921875, 4] (fits log erfc)
                        (|x| clamped to 4: erf rounds to 1 in float32 from 3.92 on)
  erfc, |x| < 0.5:      erfc(x) = 1 - erf(x) (the small-|x| erf above)
  erfc, 0.5 <= t < 2:   erfc(t) = exp(-t^2) H(t - 1.25), H of degree 11 (fits exp(t^2) erfc(t))
  erfc, t >= 2:         erfc(t) = exp(-t^2) G(1/t^2) / t, G of degree 7 (fits t exp(t^2) erfc(t)),
                        t clamped to 10.5 (erfc is 0 in float32 from 10.06 on); erfc(-t) = 2 - erfc(t).
                        exp(-t^2) = exp(-hi) (1 - lo) with hi + lo = t^2 exactly (fused multiply-adds).
  tanh, |x| < 0.75:     tanh(x) = x + x * s R(s), s = x^2, R of degree 6
  tanh, |x| >= 0.75:    tanh(|x|) = 1 - 2 / (exp(2|x|) + 1)
"""
import math
import numpy as np
import mpmath as mp

mp.mp.dps = 40


def fma32(a, b, c):
    # a*b of two float32 is exact in double; one rounding to double, then one to float32
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


def cheb_nodes(a, b, n):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)[::-1]


def lawson(xs, ys, ws, basis, iters=200):
    A = basis(xs)
    lw = np.ones(len(xs)) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(lw)
        c, *_ = np.linalg.lstsq(A * (sw * ws)[:, None], ys * ws * sw, rcond=None)
        e = np.abs((A @ c - ys) * ws)
        lw = lw * e
        lw /= lw.sum()
    return c


def fit_rounded(v, ys, ws, powers):
    """Coefficients (float32) of sum c_k v^powers[k], rounded highest power first with re-fits."""
    powers = list(powers)
    cf = list(lawson(v, ys, ws, lambda x: np.stack([x ** p for p in powers], axis=1)))
    fixed = {}
    for k in range(len(powers) - 1, -1, -1):
        fixed[powers[k]] = float(np.float32(cf[k]))
        if k > 0:
            resid = ys - sum(c * v ** p for p, c in fixed.items())
            lower = powers[:k]
            cf[:k] = lawson(v, resid, ws, lambda x: np.stack([x ** p for p in lower], axis=1), 100)
    return [fixed[p] for p in powers]


def horner(coeffs, v):
    r = np.float32(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        r = fma32(r, v, np.float32(c))
    return r


def ulp_of(v):
    """Spacing of float32 at the correctly rounded v (below it when v rounds up to a power of two)."""
    v = abs(float(v))
    f = np.float32(v)
    below = float(f - np.nextafter(f, np.float32(0)))
    return below if float(f) > v else float(np.spacing(f))


def fmt(name, coeffs):
    return "\n".join(f"    public const float {name}{k} = {'%.9g' % c}f;" for k, c in enumerate(coeffs))


ERF_SPLIT, ERF_CLAMP, TANH_SPLIT = 0.921875, 4.0, 0.75
ERFC_SPLIT1, ERFC_CENTER, ERFC_SPLIT2, ERFC_CLAMP = 0.5, 1.25, 2.0, 10.5
ERFC_G_DEGREE = 7

# exp: reduced argument, error of 1 + r + r^2 S relative to e^r is r^2 dS / e^r
EXP_R = math.log(2) / 2 + 1e-3  # round(x log2 e) may be off by one ulp of the product
rs = cheb_nodes(-EXP_R, EXP_R, 4000)
rs = rs[np.abs(rs) > 1e-7]
ys = np.array([float((mp.exp(mp.mpf(r)) - 1 - mp.mpf(r)) / mp.mpf(r) ** 2) for r in rs])
exp_c = [1.0, 1.0] + fit_rounded(rs, ys, rs ** 2 / np.exp(rs), range(5))

# erf, small |x|
xs = cheb_nodes(1e-6, ERF_SPLIT, 4000)
ys = np.array([float(mp.erf(mp.mpf(x)) / mp.mpf(x) - 1) for x in xs])
erf_p = fit_rounded(xs * xs, ys, 1 / (1 + ys), range(7))
# erf, large |x|: error of 1 - exp(Q) relative to erf is |dQ| erfc / erf
ts = cheb_nodes(ERF_SPLIT, ERF_CLAMP, 4000)
ys = np.array([float(mp.log(mp.erfc(mp.mpf(t)))) for t in ts])
ec = np.exp(ys)
erf_q = fit_rounded(ts, ys, ec / (1 - ec), range(9))
# erfc, middle: relative accuracy of H
ts = cheb_nodes(ERFC_SPLIT1, ERFC_SPLIT2, 4000)
ys = np.array([float(mp.exp(mp.mpf(t) ** 2) * mp.erfc(mp.mpf(t))) for t in ts])
erfc_h = fit_rounded(ts - ERFC_CENTER, ys, 1 / ys, range(12))
# erfc, tail: relative accuracy of G in s = 1/t
ss = cheb_nodes(1 / ERFC_CLAMP, 1 / ERFC_SPLIT2, 4000)
ys = np.array([float(mp.mpf(1 / s) * mp.exp(mp.mpf(1 / s) ** 2) * mp.erfc(mp.mpf(1 / s))) for s in ss])
erfc_g = fit_rounded(ss * ss, ys, 1 / ys, range(ERFC_G_DEGREE + 1))
# tanh, small |x|
xs = cheb_nodes(1e-6, TANH_SPLIT, 4000)
ys = np.array([float(mp.tanh(mp.mpf(x)) / mp.mpf(x) - 1) for x in xs])
tanh_r = fit_rounded(xs * xs, ys, 1 / (1 + ys), range(1, 8))


def erf32(x):
    t = abs(x)
    if t < ERF_SPLIT:
        return fma32(horner(erf_p, np.float32(x * x)), x, x)
    q = horner(erf_q, np.float32(min(t, ERF_CLAMP)))
    return math.copysign(float(np.float32(1) - np.float32(math.exp(float(q)))), float(x))


def erfc32(x):
    t = np.float32(abs(x))
    if t < ERFC_SPLIT1:
        return float(np.float32(np.float32(1) - np.float32(fma32(horner(erf_p, np.float32(x * x)), x, x))))
    u = np.float32(min(t, np.float32(ERFC_CLAMP)))
    hi = np.float32(u * u)
    lo = np.float32(float(u) * float(u) - float(hi))  # exact: fma(u, u, -hi)
    if t < ERFC_SPLIT2:
        r = horner(erfc_h, np.float32(t - np.float32(ERFC_CENTER)))
    else:
        s = np.float32(np.float32(1) / u)
        r = np.float32(horner(erfc_g, np.float32(s * s)) / u)
    ec = np.float32(np.float32(math.exp(-float(hi))) * r)
    ec = fma32(-lo, ec, ec)
    return float(ec) if x > 0 else float(np.float32(np.float32(2) - ec))


def tanh32(x):
    t = abs(x)
    if t < TANH_SPLIT:
        s = np.float32(x * x)
        return fma32(np.float32(horner(tanh_r, s) * s), x, x)
    e = np.float32(math.exp(float(np.float32(2) * np.float32(t))))
    return math.copysign(float(np.float32(1) - np.float32(np.float32(2) / np.float32(e + np.float32(1)))), float(x))


def max_ulp(f, exact, lo, hi, n):
    worst = 0.0
    for x in np.float32(np.linspace(lo, hi, n)):
        ex = exact(mp.mpf(float(x)))
        worst = max(worst, abs(float(f(x)) - float(ex)) / ulp_of(ex))
    return worst


print(fmt("ExpC", exp_c))
print(fmt("ErfP", erf_p))
print(fmt("ErfQ", erf_q))
print(fmt("ErfcH", erfc_h))
print(fmt("ErfcG", erfc_g))
print(fmt("TanhR", tanh_r))
print(f"exp  max ulp of e^r on the reduced range: {max_ulp(lambda r: horner(exp_c, r), mp.exp, -EXP_R, EXP_R, 40001):.3f}")
print(f"erf  max ulp on [1e-3, 5]: {max_ulp(erf32, mp.erf, 1e-3, 5, 40001):.3f}")
print(f"erfc max ulp on [-4, 9.2]: {max_ulp(erfc32, mp.erfc, -4, 9.2, 40001):.3f}")
print(f"tanh max ulp on [1e-3, 10]: {max_ulp(tanh32, mp.tanh, 1e-3, 10, 40001):.3f}")
