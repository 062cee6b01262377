"""A Robot variable file for bench/verdict_accuracy.py: ``${DATA_PLANE}`` is None, so a
destructive or change case probes no guests (`Start Probing The Guests Of The Suite`
returns at once). Command-line variable files win over the target's variables."""

DATA_PLANE = None
