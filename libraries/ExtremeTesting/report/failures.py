"""`python -m ExtremeTesting.report.failures OUTPUT.xml`: list failed tests, exit with their count.

Used after robotstatuschecker has turned expected failures into passes, so the exit status
says whether anything failed that was not meant to.
"""

import sys

from robot.api import ExecutionResult


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ExtremeTesting.report.failures OUTPUT.xml", file=sys.stderr)
        return 2
    result = ExecutionResult(argv[0])
    failed = [t for t in result.suite.all_tests if t.status == "FAIL"]
    for test in failed:
        print(f"FAIL {test.longname}: {test.message[:300]}")
    total = result.statistics.total
    print(f"robot lab tests: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return min(len(failed), 250)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
