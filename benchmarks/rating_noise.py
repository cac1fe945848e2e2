"""How noisy are generated ratings: the same user rating the same movie twice, against people doing it.

Amatriain, Pujol and Oliver ("I like it... I like it not: evaluating user ratings noise in recommender
systems", UMAP 2009) had 118 people rate 100 movies three times (24 hours, then 15 days apart, 1 to 5
whole stars) and measured the natural noise of ratings: an RMSE between two trials of 0.557 to 0.765
(0.8156 at most over their subsets), test-retest reliability 0.924. The generator's rating is a latent
score plus Gaussian noise (`generator/ratings.py`, `RATING_NOISE`), cut into half stars; here the
sample's (user, movie) rows are drawn once and rated twice with independent noise, and the two
ratings compared: RMSE in half stars, RMSE after rounding half stars up to whole stars (the study's
scale), Pearson r and the share of identical ratings.

The RMSE, in stars, is the figure to compare: the study's correlation also depends on how widely its
100 movies (a stratified draw over all of Netflix's popularity) spread in quality, wider than the
movies people choose to rate on MovieLens, so a generated r below 0.924 alone does not say the noise
is too large.

    python benchmarks/rating_noise.py --scale 0.00375 --seed 42 --noise 0.75 0.6 0.5 0.4
"""

from __future__ import annotations

import argparse

import tv5_assets.generator.ratings as ratings_module
from tv5_assets.generator import rerating_of_sample

PUBLISHED_RMSE = (0.557, 0.765)  # between two trials, 1-5 whole stars (Amatriain et al. 2009)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.00375)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--noise", type=float, nargs="+", default=[ratings_module.RATING_NOISE])
    args = parser.parse_args()

    print(f"scale {args.scale:g}, seed {args.seed}: the sample's ratings drawn once, each rated twice")
    print(f"published (1-5 whole stars): RMSE {PUBLISHED_RMSE[0]}-{PUBLISHED_RMSE[1]}, reliability 0.924")
    print(f"{'RATING_NOISE':>12s} {'ratings':>9s} {'RMSE half':>9s} {'RMSE whole':>10s} {'r':>6s} {'same':>6s}")
    for noise, gap in zip(args.noise, rerating_of_sample(args.scale, args.seed, args.noise)):
        print(
            f"{noise:12.2f} {gap.ratings:9,d} {gap.rmse_half_stars:9.3f} {gap.rmse_whole_stars:10.3f} "
            f"{gap.correlation:6.3f} {gap.identical:6.3f}"
        )


if __name__ == "__main__":
    main()
