"""Energy and spike-count reports (``razor-neuro report``).

* :mod:`razor_neuro.export.report.build` - measure per-layer counts (Lava ``fixed_pt``, or the torch
  reference licensed by ``verify``), with and without the frame schedule, and turn them into
  report data (``report.json``); :func:`~razor_neuro.export.report.build.make_report` does it all and
  writes the report directory atomically.
* :mod:`razor_neuro.export.report.tables` - ``report.md``, ``report.csv``, ``report.json`` and the
  booktabs ``report.tex``.
* :mod:`razor_neuro.export.report.figures` - PNG + PDF figures (matplotlib, Agg).

Example::

    from razor_neuro.export.report.build import make_report
    make_report("reports/demo", bundle="bundles/demo", profile="loihi1", samples=32,
                compare="bundles/keep10")
"""
