"""ExtremeTesting.load: concurrent workloads with SLAs (the ``Load`` library).

Modules: ``workloads`` (what one iteration does), ``runners`` (in-process constant
concurrency and constant rate), ``locust_engine`` + ``locustfile`` (the same plans in
Locust, locally or over several machines), ``stats``, ``plot``, ``cleanup`` (by name
prefix), ``pabot`` (value sets, setup-once notes, the serialisation checker).
"""

from .library import Engine, Load, LoadResult, SlaViolation

__all__ = ["Engine", "Load", "LoadResult", "SlaViolation"]
