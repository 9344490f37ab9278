"""Second-pass labels: which conversations, and how well the two passes agree.

    python bench/real_data/agreement.py --select   # print the seeded 15% to relabel
    python bench/real_data/agreement.py            # agreement of relabel.tsv with labels.tsv

The 15% is drawn with a fixed seed from the labelled conversations that are not
duplicates of another, and listed in a shuffled order (not the order of the first
pass). ``relabel.tsv`` holds the second pass, made from the text alone without
opening ``labels.tsv``; this script then prints, per criterion, raw agreement,
Cohen's kappa and the positives of each pass.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build import CRITERIA, read_tsv  # noqa: E402

SEED = 20261128
SHARE = 0.15


def selection() -> list[str]:
    """The conversation ids of the second pass, in the order they were shown."""
    rows = [r for r in read_tsv(HERE / "labels.tsv") if not r["duplicate_of"]]
    ids = sorted(r["id"] for r in rows)
    rng = random.Random(f"{SEED}-relabel")
    picked = rng.sample(ids, round(SHARE * len(ids)))
    return picked


def kappa(a: list[int], b: list[int]) -> float | None:
    """Cohen's kappa for two binary label lists (None when chance agreement is 1)."""
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return None if pe == 1 else (po - pe) / (1 - pe)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", action="store_true", help="print the ids to relabel")
    args = parser.parse_args()
    if args.select:
        print("\n".join(selection()))
        return 0
    first = {r["id"]: r for r in read_tsv(HERE / "labels.tsv")}
    second = {r["id"]: r for r in read_tsv(HERE / "relabel.tsv")}
    ids = [i for i in selection() if i in second]
    print(
        f"{len(ids)} conversations labelled twice (seeded 15% of {sum(1 for r in first.values() if not r['duplicate_of'])})"
    )
    print(f"{'criterion':<22}{'agree':>7}{'kappa':>7}{'pos 1st':>9}{'pos 2nd':>9}")
    for crit in CRITERIA:
        a = [int(first[i][crit]) for i in ids]
        b = [int(second[i][crit]) for i in ids]
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
        k = kappa(a, b)
        print(
            f"{crit:<22}{agree:>7.3f}{'   -  ' if k is None else f'{k:>7.3f}'}{sum(a):>9}{sum(b):>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
