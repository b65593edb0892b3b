"""Batch runs: many files, many spectra, one results table that survives anything.

`batch.run_batch` plans the work (`plan`: files -> work items, resume from `cache` and
`records`), fits each cell's spectra in order with warm starts (`worker`), in a process
pool or on Dask (`execute`, `pools`), turns each outcome into a row (`rows`, whose columns
are declared once in `eisfit.schema`), writes results.csv / fits/ / trends.json atomically and
under a lock (`lock`, `interrupts`, `csv_cells`, `safe_json`, `meta_json`, `names`), and
reports progress (`progress`).
"""
