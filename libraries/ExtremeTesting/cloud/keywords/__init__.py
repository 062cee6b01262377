"""Keyword components of the Cloud library, each over the shared CloudContext."""

from .connection import ConnectionKeywords
from .health import HealthKeywords
from .redundancy import RedundancyKeywords
from .resources import ResourceKeywords
from .tracking import TrackingKeywords

__all__ = ["ConnectionKeywords", "HealthKeywords", "RedundancyKeywords",
           "ResourceKeywords", "TrackingKeywords"]
