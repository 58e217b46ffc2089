"""The monthly full comparison (全库比对, `hub compare`) as one pipeline.

  sources            one description per department's snapshot: columns, row checks, duplicates, the view it
                     replaces, the absence kinds it shows
  snapshot_rows      the Python reader and row validation (the words of every bad row)
  pipeline           ``run_compare``: owns the unit of work; staged path first (PostgreSQL), else the general one
  general            the general path: the validated records made the source's view
  staged_finance     the staged path for finance (COPY, SQL row checks, the period's partition)
  staged_person_views  the staged path for police, HR and insurance (views of one row per person)
  staged_rows        the staged paths' row verdicts (flagged rows to the models, duplicates)
  recheck_selection  who to re-check when many persons changed (signature classes)
  absences           the absence kinds and 三数一致's facts (the domain judges them)
  report, roster, files  the run's report; `hub export roster`; which file ``startComparison`` may name

Import the module you need (``from hub.service_layer.comparison.pipeline import run_compare``); this package
file imports nothing, so no module of the package depends on another through it.
"""
