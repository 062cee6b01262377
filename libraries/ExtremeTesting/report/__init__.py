"""The sign-off report: one or more output.xml files -> one self-contained HTML page.

``extreme report OUTPUT.xml [...]`` (see :mod:`.cli`). :func:`.model.read` reads and merges
the outputs and finds the figures the libraries published
(:func:`ExtremeTesting.results.publish`); :func:`.render.render` writes the page;
:mod:`.chromium` prints it to PDF.
"""
