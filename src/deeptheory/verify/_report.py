"""The report of :func:`deeptheory.verify.verify`: printed table, Markdown with figures, Dataset."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._api import Result
from ._core import RULE, Profile, Row, VerifyConfig

__all__ = ["VerifyReport"]

_COLUMNS = ("config", "check", "quantity", "theory", "simulation", "stderr", "z", "allowance",
            "verdict")


def _g(v: float, digits: int = 6) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def _cells(r: Row) -> list[str]:
    return [r.config, r.check, r.quantity, _g(r.theory), _g(r.simulation), _g(r.stderr, 2),
            "nan" if math.isnan(r.z) else f"{r.z:+.2f}", _g(r.allowance, 2), r.verdict]


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", s).strip("_")


@dataclass(frozen=True)
class VerifyReport(Result):
    """Result of :func:`deeptheory.verify.verify`.

    ``rows``: one :class:`Row` per quantity (config, pillar, check, quantity, theory,
    simulation, stderr, z, allowance, passed, note, n); ``passed``: every row passed;
    ``failures``: the rows that did not; ``configs`` and ``config_names``: the
    configurations as given and their labels; ``k``, ``seed``, ``quick``: the run's
    settings; ``skipped``: (config, check, quantity, reason) of quantities not defined for
    a configuration; ``timings``: (config, check, seconds).  ``str(report)`` is the printed
    table; :meth:`to_markdown` writes Markdown with figures; :meth:`to_dataset` returns an
    ``xarray.Dataset`` with one entry per row.
    """

    rows: tuple[Row, ...]
    configs: tuple[VerifyConfig, ...]
    config_names: tuple[str, ...]
    k: float
    seed: int
    quick: bool
    skipped: tuple[tuple[str, str, str, str], ...] = ()
    timings: tuple[tuple[str, str, float], ...] = ()
    profiles: tuple[tuple[str, str, Profile], ...] = field(default=(), repr=False)

    @property
    def passed(self) -> bool:
        """True when every row passed (and there is at least one row)."""
        return bool(self.rows) and all(r.passed for r in self.rows)

    @property
    def failures(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.passed)

    @property
    def seconds(self) -> float:
        return float(sum(t for _, _, t in self.timings))

    def summary(self) -> str:
        nf = len(self.failures)
        return (f"{len(self.rows)} quantities: {len(self.rows) - nf} PASS, {nf} FAIL "
                f"(k = {self.k:g}; {self.seconds:.1f} s{', quick' if self.quick else ''})")

    # -------------------------------------------------------------------------- text

    def __str__(self) -> str:
        body = [_cells(r) for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
                  for i, h in enumerate(_COLUMNS)]
        right = {3, 4, 5, 6, 7}

        def line(cells: list[str]) -> str:
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        out = [line(list(_COLUMNS)), line(["-" * w for w in widths])]
        out += [line(b) for b in body]
        for r in self.failures:
            out.append(f"FAIL {r.config} / {r.quantity}: {r.note}" if r.note
                       else f"FAIL {r.config} / {r.quantity}")
        for cfg, chk, q, why in self.skipped:
            out.append(f"skipped {chk} {'' if q == '*' else q + ' '}({cfg}): {why}")
        out.append(self.summary())
        return "\n".join(out)

    # -------------------------------------------------------------------------- figures

    def _figure_files(self, directory: Path) -> dict[tuple[str, str], str]:
        """Write one PNG per (config, check) with profiles and a z-score overview; return
        {(config, check): file name} ("*", "*" for the overview)."""
        from matplotlib.figure import Figure  # lazily: matplotlib is slow to import

        directory.mkdir(parents=True, exist_ok=True)
        files: dict[tuple[str, str], str] = {}
        groups: dict[tuple[str, str], list[Profile]] = {}
        for cfg, chk, p in self.profiles:
            groups.setdefault((cfg, chk), []).append(p)
        for (cfg, chk), profs in groups.items():
            n = len(profs)
            fig = Figure(figsize=(3.0 * n, 2.4), dpi=90, layout="constrained")
            axes = fig.subplots(1, n, squeeze=False)[0]
            for ax, p in zip(axes, profs, strict=True):
                tol = self.k * np.asarray(p.stderr, float)
                if p.allowance is not None:
                    tol = tol + np.asarray(p.allowance, float)
                ax.plot(p.x, p.theory, "-", color="k", lw=1.2, label="theory")
                ax.errorbar(p.x, p.simulation, yerr=tol, fmt="o", ms=3, color="C0", capsize=2,
                            lw=1, label="simulation")
                if p.log:
                    ax.set_xscale("log")
                ax.set_title(p.title, fontsize=8)
                ax.set_xlabel(p.xlabel, fontsize=7)
                ax.tick_params(labelsize=6)
            axes[0].legend(fontsize=6, frameon=False)
            name = f"{_slug(cfg)}__{_slug(chk)}.png"
            fig.savefig(directory / name)
            files[(cfg, chk)] = name
        if self.rows:
            m = len(self.rows)
            fig = Figure(figsize=(4.2, 0.5 + 0.16 * m), dpi=90, layout="constrained")
            ax = fig.subplots()
            # signed margin beyond the allowance: PASS iff it lies in [-k, k]
            marg = []
            for r in self.rows:
                d = r.simulation - r.theory
                e = max(abs(d) - r.allowance, 0.0)
                marg.append(math.copysign(e / r.stderr if r.stderr > 0 else
                                          (0.0 if e == 0 else math.inf), d)
                            if math.isfinite(d) else math.nan)
            zc = np.clip(np.nan_to_num(np.array(marg), nan=3 * self.k), -3 * self.k, 3 * self.k)
            y = np.arange(m)[::-1]
            ax.barh(y, zc, color=["C2" if r.passed else "C3" for r in self.rows], height=0.7)
            ax.axvspan(-self.k, self.k, color="0.9", zorder=0)
            ax.axvline(0, color="k", lw=0.6)
            idx = {n: i for i, n in enumerate(self.config_names)}
            ax.set_yticks(y, [f"[{idx.get(r.config, '*')}] {r.check.split('.')[-1]}: "
                              f"{r.quantity[:26]}" for r in self.rows], fontsize=5)
            ax.set_xlabel(f"signed (|sim - theory| - allowance)+ / stderr; grey: PASS (k = "
                          f"{self.k:g})", fontsize=5)
            ax.tick_params(axis="x", labelsize=6)
            fig.savefig(directory / "zscores.png")
            files[("*", "*")] = "zscores.png"
        return files

    # -------------------------------------------------------------------------- Markdown

    def to_markdown(self, path: str | os.PathLike | None = None, figures: bool = True) -> str:
        """The report as Markdown: settings, the verdict rule, the configurations, the table
        (with a thumbnail of each check's figure beside its rows), skipped quantities and
        timings.  With ``path`` the text is written there and, with ``figures``, the PNGs
        into the folder ``<stem>_files`` next to it (matplotlib, imported only then).
        Returns the Markdown text."""
        files: dict[tuple[str, str], str] = {}
        rel = ""
        if path is not None:
            path = Path(path)
            if path.parent and not path.parent.exists():
                raise ValueError(f"the directory of {str(path)!r} does not exist")
            if figures:
                fdir = path.parent / f"{path.stem}_files"
                files = self._figure_files(fdir)
                rel = fdir.name + "/"
        lines = ["# deeptheory verify: theory beside simulation", "",
                 f"{self.summary()}; seed {self.seed}.", "",
                 f"Verdict rule (k = {self.k:g}): {RULE}.", ""]
        lines += self._config_table()
        head = ["config", "pillar", "check", "quantity", "theory", "simulation", "stderr", "z",
                "allowance", "verdict", "note"]
        if files:
            head.append("figure")
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        seen: set[tuple[str, str]] = set()
        for r in self.rows:
            c = _cells(r)
            cells = [r.config, r.pillar, r.check, c[2].replace("|", "\\|"), *c[3:8],
                     f"**{r.verdict}**" if not r.passed else r.verdict,
                     r.note.replace("|", "\\|")]
            if files:
                key = (r.config, r.check)
                img = ""
                if key in files and key not in seen:
                    img = f'<img src="{rel}{files[key]}" width="160">'
                    seen.add(key)
                cells.append(img)
            lines.append("| " + " | ".join(cells) + " |")
        if self.skipped:
            lines += ["", "Not applicable to the configuration:", ""]
            lines += [f"- {cfg}, {chk}{'' if q == '*' else ', ' + q}: {why}"
                      for cfg, chk, q, why in self.skipped]
        if self.timings:
            lines += ["", "Run time per check (s): " + ", ".join(
                f"{chk} ({cfg}) {t:.1f}" for cfg, chk, t in self.timings) + "."]
        if files:
            lines += ["", "## Figures", "",
                      "Lines: theory; points: simulation means with bars k * stderr + "
                      "allowance (a point whose bar misses the line fails).", ""]
            if ("*", "*") in files:
                lines += [f'<img src="{rel}{files[("*", "*")]}" width="420">', ""]
            for (cfg, chk), f in files.items():
                if cfg != "*":
                    lines += [f"**{chk}** ({cfg})", "", f'<img src="{rel}{f}" width="640">', ""]
        text = "\n".join(lines).rstrip() + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def _config_table(self) -> list[str]:
        names = [f.name for f in fields(VerifyConfig) if f.name != "label"]
        cfgs = [(c.quick() if self.quick else c).as_dict() for c in self.configs]
        default = cfgs[0]
        shown = [n for n in names if n in ("activation", "sigma_w2", "sigma_b2", "weights")
                 or any(c[n] != cfgs[0][n] for c in cfgs)]
        out = ["| config | " + " | ".join(shown) + " |", "|" + "---|" * (len(shown) + 1)]
        for name, c in zip(self.config_names, cfgs, strict=True):
            out.append(f"| {name} | " + " | ".join(str(c[n]) for n in shown) + " |")
        rest = [n for n in names if n not in shown]
        if rest:
            out += ["", "Sizes of every configuration" + (" (capped by quick mode)"
                                                          if self.quick else "")
                    + ": " + ", ".join(f"{n} = {default[n]}" for n in rest) + "."]
        return out

    # -------------------------------------------------------------------------- Dataset

    def to_dataset(self) -> Any:
        """An ``xarray.Dataset`` with dimension ``row`` (one entry per row): data variables
        ``theory``, ``simulation``, ``stderr``, ``z``, ``allowance``, ``passed``, ``n``;
        coordinates ``config``, ``pillar``, ``check``, ``quantity``, ``note``; attributes
        ``k``, ``seed``, ``quick``, ``rule``, ``passed`` and ``configs`` (JSON).  xarray is
        imported here, not with the package."""
        try:
            import xarray as xr
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("VerifyReport.to_dataset needs xarray (pip install xarray)") from exc

        rows = self.rows

        def col(name: str, dtype: Any) -> np.ndarray:
            return np.array([getattr(r, name) for r in rows], dtype=dtype)

        coords = {n: ("row", col(n, object if not rows else str))
                  for n in ("config", "pillar", "check", "quantity", "note")}
        coords["row"] = np.arange(len(rows))
        data = {n: ("row", col(n, float)) for n in ("theory", "simulation", "stderr", "z",
                                                   "allowance")}
        data["passed"] = ("row", col("passed", bool))
        data["n"] = ("row", col("n", np.int64))
        ds = xr.Dataset(data, coords=coords)
        ds["z"].attrs["long_name"] = "(simulation - theory) / stderr"
        ds["allowance"].attrs["long_name"] = "finite-size allowance"
        ds["n"].attrs["long_name"] = "independent samples behind stderr"
        ds.attrs.update(k=self.k, seed=self.seed, quick=int(self.quick), rule=RULE,
                        passed=int(self.passed),
                        configs=json.dumps({n: c.as_dict() for n, c in
                                            zip(self.config_names, self.configs, strict=True)}))
        return ds
