"""How long the value account takes, on the processed data of data/processed (run
`increase-eval prepare` first): for each landlord, the basis (its DiD effect and tenancy
sustainment, from the data), the joint Monte-Carlo of `monte_carlo.draws` draws alone, and
the whole account (simulations, tornado and break-even values).

    .venv/bin/python bench/value.py [--processed data/processed] [--repeat 5]

Prints the median of --repeat runs of each step, per landlord, and the Monte-Carlo's time
per 10,000 draws; figures are ratios of one run on one machine (shared and noisy)."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from increase_eval import config as cfg, data, value

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processed", type=Path, default=ROOT / "data" / "processed")
    ap.add_argument("--config", type=Path, default=ROOT / "config")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    conf = cfg.load(a.config)
    values = value.load_values(a.config)
    end = conf.programme["programme"]["data_end"]
    everyone = data.load(a.processed, "all", conf)
    draws = values.monte_carlo.draws
    print(f"{'landlord':<24} {'basis s':>8} {'MC ms':>8} {'account ms':>11}   ({draws:,} draws)")
    for lid, landlord in conf.landlords.items():
        t_basis, b = timed(lambda: value.basis(landlord, everyone, end), a.repeat)

        def simulate():
            shared, own = value._rngs(values, lid)
            return value.evaluate(b, values, value.parameters(b, values, draws, shared, own))

        t_mc, _ = timed(simulate, a.repeat)
        t_account, _ = timed(lambda: value.account(b, values), a.repeat)
        print(f"{lid:<24} {t_basis:>8.2f} {1000 * t_mc:>8.1f} {1000 * t_account:>11.1f}")


if __name__ == "__main__":
    main()
