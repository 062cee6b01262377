"""Fixture library: keywords named like the verdict keywords, publishing their records.

The report keys on the ``verdict`` tag that ExtremeTesting.results.verdict puts on a keyword,
so these stand in for the Monitor's without a cloud; ``publish=False`` is a keyword that
forgot its record.
"""

from ExtremeTesting import results
from robot.api.deco import library


@library(scope="GLOBAL")
class Verdicts:
    @results.verdict("Outage Should Be Shorter Than")
    def outage_should_be_shorter_than(self, limit: float, measured: float,
                                      uncertainty: float = 0.1) -> None:
        record = results.publish_expectation("Outage Should Be Shorter Than", "longest outage",
                                             limit, "<", measured, unit="s",
                                             uncertainty=uncertainty)
        if not record["passed"]:
            raise AssertionError(f"Longest outage of overall was {measured:.3f} s, expected "
                                 f"shorter than {limit:g} s.")
