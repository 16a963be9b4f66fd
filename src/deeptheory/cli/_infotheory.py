"""``deeptheory info-plane``: the information-theory subcommand
(:mod:`deeptheory.infotheory`), with its check and run-time estimate."""

from __future__ import annotations

import argparse
import os
import time

from .. import cli as _cli  # the public limits and costs, read at call time
from ._common import _check_out, _duration, _fmt, _guard, _Progress, _require, _UsageError


def _check_info_plane(args: argparse.Namespace) -> float:
    out = _check_out(args.out)
    npz = out.with_suffix(".npz")
    if npz.exists() and not os.access(npz, os.W_OK):
        raise _UsageError(f"--out: the arrays file {str(npz)!r} is not writable")
    _require(args.activation, 1, "backpropagation")
    est = (_cli.COSTS["info_epoch"] * args.epochs
           + (_cli.COSTS["info_kde_record"] * 10 if args.kde else 0))
    _guard(args, est, f"info-plane --epochs {args.epochs}", "use fewer --epochs")
    return est


def _cmd_info_plane(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import infotheory as it

    out = args.out
    long_run = estimate > _cli.PROGRESS_SECONDS
    prog = _Progress("info-plane", 3 if args.kde else 2, "stages", long_run)
    prog.note(f"estimated {_duration(estimate)} of CPU time: training {args.epochs} epochs")
    t0 = time.perf_counter()
    task = it.twelve_bit_task()
    run = it.train_mlp(task.x, task.y, activation=args.activation, epochs=args.epochs,
                       n_record=args.records, seed=args.seed,
                       progress=args.progress or long_run)
    t_train = time.perf_counter() - t0
    prog.update(1, "training")
    planes = [it.information_plane(run, task.y)]
    prog.update(2, "binning estimate")
    if args.kde:
        rec = np.unique(np.linspace(0, len(run.epochs) - 1, 10).astype(int))
        planes.append(it.information_plane(run, task.y, estimator="kde", records=rec,
                                           progress=args.progress or long_run))
        prog.update(3, "KDE estimate")
    fig, axes = plt.subplots(1, len(planes), figsize=(6 * len(planes), 4.5), squeeze=False)
    try:
        for ax, pl in zip(axes[0], planes, strict=True):
            it.plot_information_plane(pl, ax=ax, title=f"{args.activation}, 12-bit task, "
                                      f"{pl.estimator}")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    arrays = {"epochs": run.epochs, "loss": run.loss, "train_accuracy": run.train_accuracy,
              "test_accuracy": run.test_accuracy}
    for pl in planes:
        arrays[f"{pl.estimator}_epochs"] = pl.epochs
        arrays[f"{pl.estimator}_i_xt"] = pl.i_xt
        arrays[f"{pl.estimator}_i_ty"] = pl.i_ty
    npz = out.with_suffix(".npz")
    np.savez(npz, **arrays)
    elapsed = time.perf_counter() - t0
    print(f"information plane: activation={args.activation}  epochs={args.epochs}  "
          f"seed={args.seed}")
    print(f"  trained in {t_train:.1f} s: loss {_fmt(run.loss[0])} -> {_fmt(run.loss[-1])}, "
          f"train accuracy {run.train_accuracy[-1]:.4f}, test accuracy "
          f"{run.test_accuracy[-1]:.4f}")
    i_xt, i_ty = planes[0].i_xt, planes[0].i_ty
    print("  last epoch, binning (bits): " + ", ".join(
        f"L{k + 1} ({i_xt[-1, k]:.3f}, {i_ty[-1, k]:.3f})" for k in range(i_xt.shape[1])))
    print(f"  wrote {out} and {npz} in {elapsed:.1f} s")
    return 0
