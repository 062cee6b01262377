"""Keyword components of the Cloud library, each over the shared CloudContext."""

from .clusters import ClusterKeywords
from .connection import ConnectionKeywords
from .dataplane import DataPlaneKeywords
from .health import HealthKeywords
from .redundancy import RedundancyKeywords
from .resources import ResourceKeywords
from .survivors import SurvivorKeywords
from .tracking import TrackingKeywords

__all__ = ["ClusterKeywords", "ConnectionKeywords", "DataPlaneKeywords", "HealthKeywords",
           "RedundancyKeywords", "ResourceKeywords", "SurvivorKeywords", "TrackingKeywords"]
