"""Evidence an operator can act on: our request ids on every request, the failed requests
kept with them, and the services' log lines behind a failed case (see :mod:`.collect`)."""
