"""Energy and spike-count reports (``razor-neuro report``), in four steps:

* :mod:`~razor_neuro.export.report.measure` - run a bundle (or a plain netx network) on Lava
  ``fixed_pt``, or on the torch reference licensed by ``verify``, with and without its frame
  schedule, and count per layer (:class:`~razor_neuro.export.report.measure.Measurement`);
* :mod:`~razor_neuro.export.report.assemble` - price the counts with hardware profiles and
  assemble the :class:`~razor_neuro.export.report.data.Report`;
* :mod:`~razor_neuro.export.report.data` - the typed dataclasses ``report.json`` holds, and
  its JSON writer and reader;
* the renderers, each taking the same report: :mod:`~razor_neuro.export.report.markdown`,
  :mod:`~razor_neuro.export.report.csvtable`, :mod:`~razor_neuro.export.report.latex`,
  :mod:`~razor_neuro.export.report.figures` (number formats shared in
  :mod:`~razor_neuro.export.report.cells`);

:mod:`~razor_neuro.export.report.make` does all four and writes the report directory
atomically; :mod:`~razor_neuro.export.report.schema` holds the format tag, constants, texts
and error classes.

Example::

    from razor_neuro.export.report.make import report_bundle
    report_bundle("reports/demo", "bundles/demo", profile="loihi1", samples=32,
                  compare="bundles/keep10")
    from razor_neuro.export.report.data import load
    report = load("reports/demo/report.json")   # a Report again
"""
