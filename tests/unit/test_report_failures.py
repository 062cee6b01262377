"""The failed-test counter used by `./run tests` after robotstatuschecker."""

import robot

from ExtremeTesting.report.failures import main


def test_exit_status_is_the_number_of_failed_tests(tmp_path, capsys):
    suite = tmp_path / "s.robot"
    suite.write_text("*** Test Cases ***\nGood\n    No Operation\nBad\n    Fail    broke\n"
                     "Skipped\n    Skip    not here\n")
    robot.run(str(suite), outputdir=str(tmp_path), log="NONE", report="NONE", stdout=None,
              console="none")
    assert main([str(tmp_path / "output.xml")]) == 1
    out = capsys.readouterr().out
    assert "FAIL S.Bad: broke" in out
    assert "1 passed, 1 failed, 1 skipped" in out
