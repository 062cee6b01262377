"""ExtremeTesting.safeguards: what keeps a run from hurting a cloud others depend on.

- :mod:`.config`: the target's ``safeguards:`` section (the lab's defaults when it has none);
- :mod:`.triggers`: the emergency limits, judged on live figures (pure: a fake clock tests
  every trigger);
- :mod:`.journal`: the run's safeguard events beside the ledger (pre-flight, tripped,
  undone, stop requested, degraded), shared by every pabot process of the run, and the
  run's identity (its root process: PID and start time);
- :mod:`.watcher`: the background thread that watches the limits and the stop request
  while a destructive or change case runs, undoes at once and interrupts the case;
- :mod:`.stop`: ``extreme stop``.

Light on purpose: the report reads :mod:`.journal` and :mod:`.config` without importing
any keyword library.
"""
