"""Keyword components of the Changes library, each over the shared ChangeContext."""

from .config import ConfigKeywords
from .fernet import FernetKeywords
from .loadbalancer import LoadBalancerKeywords
from .packages import PackageKeywords
from .rollout import RolloutKeywords
from .scale import ScaleKeywords

__all__ = ["ConfigKeywords", "FernetKeywords", "LoadBalancerKeywords", "PackageKeywords",
           "RolloutKeywords", "ScaleKeywords"]
