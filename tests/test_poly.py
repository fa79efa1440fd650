"""attngrad/poly.py pinned by values computed independently of it: the certificate's tightness,
the Taylor and Chebyshev polynomials on asymmetric intervals, the grid, the degree search.

Each test here kills mutants of poly.py that the property tests let pass (BENCHMARKS.md,
"Mutation testing"): those check that the certificate is sound, not that it is tight, nor
which polynomial or grid point is returned."""
import math

import mpmath
import pytest
from numpy.polynomial import chebyshev as npcheb

from attngrad import poly
from attngrad.fast.degree import first_degree


def _sup_error(p, n=200):
    """max |P(t) e^-t - 1| over n + 1 equispaced points of [lo, hi] (the ends included),
    evaluated at 60 digits: a lower bound of the true sup."""
    with mpmath.workdps(60):
        c = list(reversed(p.coeffs))
        return max(abs(mpmath.polyval(c, t) * mpmath.exp(-t) - 1)
                   for t in mpmath.linspace(p.lo, p.hi, n + 1))


# (basis, degree, lo, hi): symmetric, asymmetric, off zero, and wide intervals (the last needs
# the Taylor order of e^{-rho x} raised well past degree + 8 for a negligible tail)
CASES = [("chebyshev", 6, -1, 1), ("chebyshev", 10, 0.5, 3), ("chebyshev", 20, -4, 6),
         ("taylor", 10, 0.5, 3), ("taylor", 12, -8, 8), ("chebyshev", 12, -8, 8),
         ("taylor", 3, -0.25, 0.5)]


@pytest.mark.parametrize("basis,degree,lo,hi", CASES)
def test_the_certificate_is_sound_and_tight(basis, degree, lo, hi):
    """sup |P e^-t - 1| <= rel_error <= (1 + 1e-12) sup: the error of these polynomials peaks
    at an end of the interval, where every Chebyshev term of G takes the value +-1 with its
    sign, so sum_k |b_k| (the certificate of the module doc) is attained; the Taylor tail of
    e^{-rho x} is kept below 10^-(dps-2) and _float_up rounds up to the next float. (The Chebyshev case on
    [-4, 6] peaks inside, between the samples: 1e-4 there.)"""
    p = poly.exp_poly(basis, degree, lo, hi)
    sup = float(_sup_error(p))
    slack = 1e-4 if (basis, degree, lo, hi) == ("chebyshev", 20, -4, 6) else 1e-12
    assert sup <= p.rel_error <= (1 + slack) * sup, (sup, p.rel_error)


@pytest.mark.parametrize("basis,degree,lo,hi", CASES[:4])
def test_abs_sum_is_the_absolute_polynomial_at_the_radius(basis, degree, lo, hi):
    """abs_sum bounds sum_m |a_m| R^m, R = max(|lo|, |hi|), and is rounded up by little."""
    p = poly.exp_poly(basis, degree, lo, hi)
    R = max(abs(lo), abs(hi))
    with mpmath.workdps(60):
        exact = float(mpmath.fsum(abs(a) * mpmath.mpf(R) ** m for m, a in enumerate(p.coeffs)))
    assert exact <= p.abs_sum <= exact * (1 + 1e-12)
    assert exact <= poly.abs_sum(p.coeffs, R) <= exact * (1 + 1e-12)


@pytest.mark.parametrize("coeffs", [[1.0], [0, 1], [0, 0, 0, 0, 1], [0.5, -2, 0, 3],
                                    [0, 0, 0, 0, 0, 0, -1.5]])
def test_cheb_abs_sum_is_the_sum_of_the_chebyshev_coefficients(coeffs):
    """_iv_cheb_abs_sum of sum_k c_k T_k, given by its monomial coefficients (numpy's
    cheb2poly, an independent conversion), encloses sum_k |c_k| exactly: the T_0 term of
    x^k is weighted 2^{1-k} binom(k, k/2) / 2."""
    mono = npcheb.cheb2poly(coeffs)
    iv = mpmath.iv
    old = iv.prec
    iv.prec = 80
    try:
        out = poly._iv_cheb_abs_sum([iv.mpf(float(a)) for a in mono])
    finally:
        iv.prec = old
    want = sum(abs(c) for c in coeffs)
    assert out.a <= want <= out.b and out.b - out.a < 1e-15


@pytest.mark.parametrize("lo,hi", [(0.5, 3.0), (-2.0, -0.75), (-1.0, 1.0)])
def test_taylor_is_expanded_at_the_centre(lo, hi):
    """P(m + x) = e^m sum_{k<=g} x^k / k!, m = (lo + hi) / 2 (to the coefficients' rounding);
    its error vanishes at the centre and is largest at the ends."""
    g = 8
    p = poly.exp_poly("taylor", g, lo, hi)
    with mpmath.workdps(40):
        m = (mpmath.mpf(lo) + mpmath.mpf(hi)) / 2
        c = list(reversed(p.coeffs))
        for x in (-0.5, -0.1, 0, 0.3, 0.6):
            want = mpmath.exp(m) * mpmath.fsum(mpmath.mpf(x) ** k / mpmath.factorial(k)
                                               for k in range(g + 1))
            assert abs(mpmath.polyval(c, m + x) / want - 1) < 1e-14
        assert abs(mpmath.polyval(c, m) * mpmath.exp(-m) - 1) < 1e-15


@pytest.mark.parametrize("lo,hi", [(0.5, 3.0), (-2.0, -0.75), (-3.0, 1.0)])
def test_chebyshev_interpolates_at_the_chebyshev_points_of_the_interval(lo, hi):
    """P(t_j) = e^{t_j} at t_j = m + rho cos(pi (j + 1/2) / (g + 1)), j = 0..g, on an
    asymmetric interval (the nodes computed here, not by poly.py)."""
    g = 7
    p = poly.exp_poly("chebyshev", g, lo, hi)
    m, rho = (lo + hi) / 2, (hi - lo) / 2
    with mpmath.workdps(40):
        c = list(reversed(p.coeffs))
        for j in range(g + 1):
            t = mpmath.mpf(m) + mpmath.mpf(rho) * mpmath.cos(mpmath.pi * (j + 0.5) / (g + 1))
            assert abs(mpmath.polyval(c, t) * mpmath.exp(-t) - 1) < 1e-14


def test_coefficients_are_rounded_to_prec_bits():
    p = poly.exp_poly("taylor", 5, -1, 1, prec=20)
    for a in p.coeffs:
        man, _ = mpmath.frexp(a)
        assert man * 2 ** 20 == int(man * 2 ** 20)      # 20 significant bits
    assert abs(p.coeffs[3] - mpmath.mpf(1) / 6) < 2.0 ** -22


def _grid_point(k):
    return 2.0 ** (k / 16)


@pytest.mark.parametrize("R", [0.3, 1.0, 7.5, 1e5, 2.0 ** (5 / 16), 2.0 ** -29.9,
                               math.nextafter(2.0 ** (5 / 16), math.inf),
                               math.nextafter(2.0 ** (-17 / 16), math.inf),
                               math.nextafter(2.0 ** -30, math.inf)])
def test_grid_radius_is_the_smallest_grid_point_above(R):
    """grid_radius(R) = min {2^(k/16) : 2^(k/16) >= R}; just above a grid point the rounded
    log2 lands on it, and the loop moves to the next one."""
    out = poly.grid_radius(R)
    k = round(16 * math.log2(out))
    assert out == _grid_point(k) and out >= R and _grid_point(k - 1) < R, (R, out)
    assert poly._grid_up(R) == out


@pytest.mark.parametrize("R", [0.0, 1e-300, 2.0 ** -40, 2.0 ** -30.5, 0.99 * 2.0 ** -30,
                               2.0 ** -30])
def test_grid_radius_floor(R):
    """Radii at or below 2^-30 share the certificate of 2^-30 (never one below R)."""
    assert poly.grid_radius(R) == 2.0 ** -30


@pytest.mark.parametrize("x", [0.3, 1.0, 7.5, 2.0 ** (5 / 16), 3e-9,
                               math.nextafter(2.0 ** (5 / 16), -math.inf),
                               math.nextafter(2.0 ** (5 / 16), math.inf)])
def test_grid_down_is_the_largest_grid_point_below(x):
    out = poly._grid_down(x)
    k = round(16 * math.log2(out))
    assert out == _grid_point(k) and out <= x < _grid_point(k + 1), (x, out)
    assert poly._grid_up(-x) == -out


@pytest.mark.parametrize("lo,hi,want", [(-1.0, 1.0, (-1.0, 1.0)), (0.0, 0.0, (0.0, 2.0 ** -30)),
                                        (1e-12, 2e-12, (0.0, 2.0 ** -30)),
                                        (-3e-12, -1e-12, (-2.0 ** -30, 0.0)),
                                        (0.3, 0.3, (2.0 ** (-28 / 16), 2.0 ** (-27 / 16)))])
def test_grid_interval(lo, hi, want):
    """[lo, hi] widened to grid points, never empty (a point is widened to the next one)."""
    assert poly.grid_interval(lo, hi) == want


@pytest.mark.parametrize("lo,hi", [(1.0, 0.0), (math.nan, 1.0), (0.0, math.inf)])
def test_grid_interval_refuses_bad_intervals(lo, hi):
    with pytest.raises(ValueError, match="finite lo <= hi"):
        poly.grid_interval(lo, hi)


@pytest.mark.parametrize("basis", ["chebyshev", "taylor"])
@pytest.mark.parametrize("lo,hi,target", [(-1.0, 1.0, 1e-6), (-2.0, 4.0, 1e-3),
                                          (0.5, 3.0, 1e-10), (-4.0, 4.0, 0.05)])
def test_first_degree_is_the_smallest(basis, lo, hi, target):
    """The degree search returns the smallest degree whose sampled error meets the target,
    found here by trying every degree from 0 up."""
    want = next(g for g in range(60) if poly.sampled_rel_error(basis, g, lo, hi) <= target)
    assert first_degree(basis, lo, hi, 53, 0, 60, target) == want
    assert first_degree(basis, lo, hi, 53, want + 1, 60, target) == want + 1
    assert first_degree(basis, lo, hi, 53, 0, want - 1, target) is None


@pytest.mark.parametrize("basis,degree,lo,hi", CASES[:5])
def test_sampled_error_is_the_sup_up_to_sampling(basis, degree, lo, hi):
    """The uncertified estimate sits just below the certified sup (its samples include the
    ends, where these errors peak); the analytic estimate of a symmetric interval of the same
    half-width lies above it, by at most e^(hi - lo) (its docstring's overestimate)."""
    s = poly.sampled_rel_error(basis, degree, lo, hi)
    p = poly.exp_poly(basis, degree, lo, hi)
    assert abs(s - p.rel_error) <= 1e-3 * p.rel_error + 1e-15   # float64's own rounding
    R = (hi - lo) / 2
    sym = poly.sampled_rel_error(basis, degree, -R, R)
    assert sym <= poly.rel_error_estimate(basis, degree, R) <= math.exp(2 * R) * sym


def test_sampled_error_at_high_precision():
    """prec > 53: errors below float64's resolution, sampled in mpmath."""
    p = poly.exp_poly("chebyshev", 24, -1, 1, prec=113)
    s = poly.sampled_rel_error("chebyshev", 24, -1.0, 1.0, prec=113)
    assert 1e-33 < s <= p.rel_error and s >= 0.99 * p.rel_error


def test_rel_error_estimate_is_inf_past_float64():
    assert poly.rel_error_estimate("taylor", 3, 400.0) == math.inf
    assert poly.rel_error_estimate("chebyshev", 3, 400.0) == math.inf
    assert math.isfinite(poly.rel_error_estimate("chebyshev", 3, 1.0))


def test_exact_takes_numbers_without_rounding():
    """lo, hi are taken exactly: a float, a big int and an mpf keep every bit."""
    tenth = mpmath.mpf(0.1)            # the float's 53 bits
    with mpmath.workprec(10):
        assert poly._exact(0.1) == tenth
        assert int(poly._exact(2 ** 200 + 1)) == 2 ** 200 + 1
        v = mpmath.mpf(3)
        assert poly._exact(v) is v


@pytest.mark.parametrize("x", [mpmath.mpf(1) / 3, mpmath.mpf(2) / 3, mpmath.mpf(2) ** -1070 / 3,
                               mpmath.mpf(10) ** 300 / 7, mpmath.mpf(0.1), mpmath.mpf(0),
                               mpmath.mpf(2) ** -1074, mpmath.mpf(2) ** -1080])
def test_float_up_is_the_smallest_float_not_below(x):
    """f >= x, and the float below f is below x: never rounded down, never further up than
    needed (1/3 rounds down to nearest, 2/3 up; a float is its own bound; below the smallest
    subnormal the bound is 2^-1074)."""
    with mpmath.workprec(200):
        f = poly._float_up(x)
        assert mpmath.mpf(f) >= x
        assert mpmath.mpf(math.nextafter(f, -math.inf)) < x or f == 0.0 == x


def _lagrange(rho, N):
    """rho^{N+1} e^rho / (N+1)! at 60 digits: the bound of |e^{-rho x} - T_N(x)| on [-1, 1]."""
    with mpmath.workdps(60):
        rho = mpmath.mpf(rho)
        return rho ** (N + 1) * mpmath.exp(rho) / mpmath.factorial(N + 1)


@pytest.mark.parametrize("deg,rho,dps", [(3, 0.5, 40), (6, 4.0, 40), (12, 8.0, 40),
                                         (0, 30.0, 20), (6, 4.0, 3), (2, 1e-9, 40)])
def test_taylor_order_is_the_first_with_a_negligible_tail(deg, rho, dps):
    """N is deg + 8 + 4k with k the least for which the Lagrange bound of the remainder is below
    10^-(dps-2) (evaluated here at 60 digits, independently of the float test in the code)."""
    N = poly._taylor_order(deg, rho, dps)
    small = mpmath.mpf(10) ** -(dps - 2)
    assert N >= deg + 8 and (N - deg) % 4 == 0
    assert _lagrange(rho, N) < small
    if N > deg + 8:
        assert _lagrange(rho, N - 4) >= small


def test_taylor_order_stops_at_400_and_at_rho_zero():
    assert poly._taylor_order(4, 300.0, 40) == 400
    assert poly._taylor_order(4, 0.0, 40) == 12


@pytest.mark.parametrize("rho,N", [(0.5, 3), (2.0, 5), (4.0, 14), (1.0, 0)])
def test_taylor_tail_is_the_lagrange_bound_and_covers_the_remainder(rho, N):
    """_taylor_tail encloses (sum_j |px_j|) e^{-m} rho^{N+1} e^rho / (N+1)!, narrowly, and that
    is above the true remainder sup_{|x| <= 1} |P(m + rho x)| e^{-m} |e^{-rho x} - T_N(x)|
    (sampled at 60 digits). The white-box test of the tail term: inside the certificate it is
    below 10^-38 of the bound at 40 digits, so no test of certify alone sees its formula."""
    px = [mpmath.mpf(v) for v in (0.75, -1.5, 0.25, 2.0)]   # P(m + rho x) in x
    m = mpmath.mpf(-0.5)
    iv = mpmath.iv
    old = iv.prec
    iv.prec = 120
    try:
        tail = poly._taylor_tail(iv, [iv.mpf(v) for v in px], iv.exp(-m), iv.mpf(rho), N)
    finally:
        iv.prec = old
    with mpmath.workdps(60):
        want = sum(abs(v) for v in px) * mpmath.exp(-m) * _lagrange(rho, N)
        assert tail.a <= want <= tail.b and tail.b - tail.a <= want * mpmath.mpf(10) ** -30

        def remainder(x):
            Tn = mpmath.fsum((-rho * x) ** k / mpmath.factorial(k) for k in range(N + 1))
            return abs(mpmath.polyval(px[::-1], x) * mpmath.exp(-m) * (mpmath.exp(-rho * x) - Tn))
        true = max(remainder(x) for x in mpmath.linspace(-1, 1, 201))
    assert 0 < true <= tail.b


def test_abs_sum_is_inf_past_float64():
    assert poly.abs_sum((mpmath.mpf(1),) * 3, 1e200) == math.inf
    assert 7.0 <= poly.abs_sum((mpmath.mpf(1),) * 3, 2.0) <= 7.0 * (1 + 1e-14)


def test_uncertified_polynomials_claim_nothing():
    p = poly.exp_poly("chebyshev", 4, -1, 1, certify=False)
    assert math.isnan(p.rel_error) and math.isnan(p.abs_sum)
    assert p.coeffs == poly.exp_poly("chebyshev", 4, -1, 1).coeffs


@pytest.mark.parametrize("lo,hi", [(1, 1), (2, 1), (float("nan"), 1), (0, float("inf"))])
def test_exp_poly_refuses_empty_or_infinite_intervals(lo, hi):
    with pytest.raises(ValueError, match="finite lo < hi"):
        poly.exp_poly("taylor", 3, lo, hi)


@pytest.mark.parametrize("x,up,down", [(0.0, 0.0, 0.0), (2.0 ** -30, 2.0 ** -30, 2.0 ** -30),
                                       (2.0 ** -30.5, 2.0 ** -30, 0.0),
                                       (-2.0 ** -30.5, 0.0, -2.0 ** -30)])
def test_the_grid_near_zero(x, up, down):
    """Below 2^-30 the only grid point is 0: the grid is {0} and +-2^(k/16), k/16 >= -30."""
    assert poly._grid_up(x) == up and poly._grid_down(x) == down
    assert poly.grid_interval(-1.0, x) == (-1.0, up)


@pytest.mark.parametrize("basis,degree,R", [("chebyshev", 3, 0.25), ("taylor", 3, 0.25),
                                            ("chebyshev", 4, 0.5), ("taylor", 6, 2.0)])
def test_rel_error_estimate_brackets_the_error_on_short_intervals(basis, degree, R):
    """The analytic estimate overestimates the sampled error of [-R, R] by at most e^(2R),
    also for R < 1 (where log R < 0)."""
    sym = poly.sampled_rel_error(basis, degree, -R, R)
    assert sym <= poly.rel_error_estimate(basis, degree, R) <= math.exp(2 * R) * sym


def test_exp_poly_names_a_bad_argument():
    with pytest.raises(ValueError, match="^basis: must be one of"):
        poly.exp_poly("legendre", 3, -1, 1)
    with pytest.raises(ValueError, match="^degree: must be an integer >= 0"):
        poly.exp_poly("taylor", -1, -1, 1)


def test_exact_takes_a_string_to_4096_bits():
    with mpmath.workprec(4096):
        want = mpmath.mpf("0.1")
    assert poly._exact("0.1") == want and poly._exact("0.1") != mpmath.mpf(0.1)


@pytest.mark.parametrize("dps", [3, 4, 6])
@pytest.mark.parametrize("basis,degree,lo,hi", [("chebyshev", 12, -8, 8), ("taylor", 6, -3, 5)])
def test_the_certificate_is_sound_at_low_precision(basis, degree, lo, hi, dps):
    """At a few digits the Taylor order of e^{-rho x} stops where its tail is 10^-(dps-2) of the
    main term, not negligible: the certificate must still cover the sup, through its tail term
    (the mutants of _certify that drop, shrink or subtract that tail pass every test at 40
    digits)."""
    p = poly.exp_poly(basis, degree, lo, hi, certify=False)
    rel, _ = poly.certify(p.coeffs, lo, hi, dps=dps)
    assert float(_sup_error(p)) <= rel
