"""Detection: detectors (fit/score), count tests for rates, anomaly assembly, payment/order pairing."""

from selfheal.reason.detect import context as _context  # noqa: F401  (registers the context detector)
from selfheal.reason.detect import counts as _counts  # noqa: F401  (registers the count detectors)
from selfheal.reason.detect import robust as _robust  # noqa: F401  (registers the robust detector)
from selfheal.reason.detect import spike as _spike  # noqa: F401  (registers the spike detector)
from selfheal.reason.detect import weekly as _weekly  # noqa: F401  (registers the weekly detector)
from selfheal.reason.detect.base import DEFAULT_DETECTOR, REGISTRY, Detector, make_detector, register

__all__ = ["DEFAULT_DETECTOR", "REGISTRY", "Detector", "make_detector", "register"]
