"""Parameter sweeps of any toolkit function, serially or on Dask, as labelled xarray data.

:func:`sweep` runs a function (theory or Monte Carlo; a callable or a dotted name such as
``"meanfield.simulate_chi1"``) at every point of the outer product of parameter lists and
returns an ``xarray.Dataset`` with one named dimension per parameter.  By default it runs
on an embedded ``distributed.LocalCluster`` (one worker process per core); with
``scheduler="tcp://host:8786"`` or the environment variable ``DEEPTHEORY_SCHEDULER`` the
same call runs on an existing Dask cluster (Rocklin 2015); ``scheduler="serial"`` runs in
this process without Dask.  Each point's seed is derived from the sweep seed and the
point's coordinates (:func:`point_seed`), so the results are bitwise the same on any
scheduler.  With ``path=`` the sweep is written chunk by chunk to a directory of netCDF
files (or Zarr stores, ``store="zarr"``) and resumes after an interruption;
:func:`save_sweep` writes a result as one netCDF file or Zarr store; :func:`open_sweep`
reads any of them back.  A point whose
call raises is recorded (NaN and its message in ``error``) and the sweep goes on.

dask, distributed, xarray and tqdm are imported only when a sweep runs (``import
deeptheory.meanfield`` stays free of them).  Guide: ``docs/sweeps.md``.
"""

from ._cli import main_sweep
from ._engine import (
    SCHEDULER_ENV,
    SweepMismatchError,
    local_cluster,
    point_seed,
    resolve_function,
    sweep,
)
from ._store import open_sweep, save_sweep

__all__ = ["SCHEDULER_ENV", "SweepMismatchError", "local_cluster", "main_sweep", "open_sweep",
           "point_seed", "resolve_function", "save_sweep", "sweep"]
