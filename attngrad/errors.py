"""Exceptions raised by attngrad."""


class ApproximationError(ValueError):
    """An approximation cannot certify the requested accuracy eps.

    Raised instead of returning a result whose certified error bound exceeds eps
    (for example when the entries are too large for the polynomial method of
    Lemma D.1 within the allowed rank budget). The message says why and what
    would be needed.
    """
