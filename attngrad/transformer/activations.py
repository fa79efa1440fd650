"""The MLP's activations phi and their derivatives phi', written against the namespace ``ns``.

LSS24 (Definition 1.3 and Appendix J) leaves g_i "any" MLP; these are the activations models
use. Each entry maps a name to (phi, phi'):

* identity: phi(x) = x, phi'(x) = 1
* relu:     phi(x) = max(x, 0), phi'(x) = 1 for x > 0, else 0 (0 at x = 0, as PyTorch)
* tanh:     phi'(x) = 1 - tanh(x)^2
* gelu:     phi(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi'(x) = Phi(x) + x phi_N(x),
            phi_N(x) = exp(-x^2 / 2) / sqrt(2 pi)   (PyTorch's GELU, approximate="none")
* gelu_tanh: phi(x) = x (1 + tanh(k (x + 0.044715 x^3))) / 2, k = sqrt(2 / pi)
            (PyTorch's GELU, approximate="tanh"), phi'(x) = (1 + t) / 2
            + x (1 - t^2) k (1 + 3 0.044715 x^2) / 2 with t = tanh(k (x + 0.044715 x^3))
"""
from __future__ import annotations


def _identity(ns, P):
    return P


def _identity_d(ns, P):
    return ns.ones(P.shape)


def _relu(ns, P):
    return ns.xp.where(P > 0, P, ns.scalar(0))


def _relu_d(ns, P):
    return ns.xp.where(P > 0, ns.scalar(1), ns.scalar(0))


def _tanh(ns, P):
    return ns.tanh(P)


def _tanh_d(ns, P):
    t = ns.tanh(P)
    return ns.scalar(1) - t * t


def _Phi(ns, P):
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2."""
    return (ns.scalar(1) + ns.erf(P / ns.sqrt(ns.scalar(2)))) / ns.scalar(2)


def _gelu(ns, P):
    return P * _Phi(ns, P)


def _gelu_d(ns, P):
    density = ns.exp(-(P * P) / ns.scalar(2)) / ns.sqrt(ns.scalar(2) * ns.pi())
    return _Phi(ns, P) + P * density


_GELU_C = "0.044715"


def _gelu_tanh_t(ns, P):
    k = ns.sqrt(ns.scalar(2) / ns.pi())
    return k, ns.tanh(k * (P + ns.scalar(_GELU_C) * P * P * P))


def _gelu_tanh(ns, P):
    _, t = _gelu_tanh_t(ns, P)
    return P * (ns.scalar(1) + t) / ns.scalar(2)


def _gelu_tanh_d(ns, P):
    k, t = _gelu_tanh_t(ns, P)
    inner = k * (ns.scalar(1) + ns.scalar(3) * ns.scalar(_GELU_C) * P * P)
    return ((ns.scalar(1) + t) + P * (ns.scalar(1) - t * t) * inner) / ns.scalar(2)


#: name -> (phi, phi'), each (ns, P) -> array of ns
PHIS = {
    "identity": (_identity, _identity_d),
    "relu": (_relu, _relu_d),
    "tanh": (_tanh, _tanh_d),
    "gelu": (_gelu, _gelu_d),
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_d),
}


def phi(ns, name, P):
    return PHIS[name][0](ns, P)


def phi_prime(ns, name, P):
    return PHIS[name][1](ns, P)
