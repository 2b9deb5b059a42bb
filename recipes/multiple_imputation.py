"""Clean a DataFrame: one completed table, then multiple imputation with pooled estimates.

20% of the cells of the adult table are hidden at random, so the truth is known. An
``AEImputer`` fills them once (a best guess per cell), then draws several completions;
two estimates, the mean age and the slope of hours-per-week on age, are computed on
every draw and pooled with Rubin's rules (``tabae.pool``). A single completed table
treats guesses as observations and gives intervals that are too narrow; the pooled
standard error adds the spread between the draws.

Run: python recipes/multiple_imputation.py [--fast] [--out DIR]
Figures: imputation_draws.png (draws of hidden ages against the truth),
imputation_loss.png (the imputer's training curve).
"""

import sys

import numpy as np
import pandas as pd
from _common import options, plot_history, pyplot, save

import tabae


def slope(df: pd.DataFrame) -> tuple[float, float]:
    """Least-squares slope of hours-per-week on age, and its sampling variance."""
    x, y = df["age"].to_numpy(float), df["hours-per-week"].to_numpy(float)
    xc, yc = x - x.mean(), y - y.mean()
    b = (xc * yc).sum() / (xc**2).sum()
    residual = yc - b * xc
    return b, residual.var(ddof=2) / (xc**2).sum()


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    rows, epochs, n_draws = (600, 3, 5) if args.fast else (4000, 50, 20)

    truth = tabae.datasets.load_adult().sample(rows, random_state=0)
    hidden = np.random.default_rng(0).random(truth.shape) < 0.2
    holes = truth.mask(hidden)  # the table we are given

    # AEImputer's default model, with a fixed number of epochs (its default trains for
    # up to ~3,000 steps with early stopping: about twice as long here, for a similar fit).
    model = tabae.impute.imputation_model(rows, epochs=epochs, random_state=0, verbose=False)
    imputer = tabae.AEImputer(model).fit(holes)

    # ---- one completed table
    filled = imputer.transform(holes)
    observed = holes.notna()
    assert filled.where(observed).equals(holes.where(observed)), "observed cells are returned unchanged"
    miss = holes["occupation"].isna() & truth["occupation"].notna()
    accuracy = (filled["occupation"][miss] == truth["occupation"][miss]).mean()
    mode = (truth["occupation"][miss] == holes["occupation"].mode()[0]).mean()
    print(f"occupation on {miss.sum()} hidden cells: accuracy {accuracy:.3f} (most frequent value: {mode:.3f})")

    # ---- multiple imputation, pooled with Rubin's rules
    draws = imputer.transform_draws(holes, n_draws=n_draws, random_state=0)
    rows_out = []
    for name, estimate in [("mean age", lambda d: (d["age"].mean(), d["age"].var() / len(d))), ("slope", slope)]:
        true_value = estimate(truth)[0]
        single, single_var = estimate(filled)
        estimates, variances = zip(*[estimate(d) for d in draws], strict=True)  # one pair per draw
        pooled = tabae.pool(estimates, variances)
        complete = estimate(holes.dropna(subset=["age", "hours-per-week"]))
        for method, value, se in [
            ("complete cases", complete[0], np.sqrt(complete[1])),
            ("single imputation", single, np.sqrt(single_var)),
            (f"multiple imputation (m={n_draws})", float(pooled.estimate), float(pooled.std_error)),
        ]:
            rows_out.append({"estimate": name, "method": method, "value": value, "std. error": se,
                             "covers truth": abs(value - true_value) <= 1.96 * se, "truth": true_value})
    print(pd.DataFrame(rows_out).round(4).to_string(index=False))

    # ---- figures
    picked = np.flatnonzero(holes["age"].isna().to_numpy() & truth["age"].notna().to_numpy())[:12]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for k, i in enumerate(picked):
        values = [d["age"].iloc[i] for d in draws]
        ax.scatter([k] * len(values), values, s=12, alpha=0.5, color="tab:blue", label="draws" if k == 0 else None)
        ax.scatter(k, filled["age"].iloc[i], marker="_", s=300, color="tab:orange",
                   label="single imputation" if k == 0 else None)
        ax.scatter(k, truth["age"].iloc[i], marker="x", color="black", label="hidden truth" if k == 0 else None)
    ax.set_xticks(range(len(picked)), [f"row {truth.index[i]}" for i in picked], rotation=45, fontsize=7)
    ax.set_ylabel("age")
    ax.set_title(f"{n_draws} imputation draws per hidden age cell")
    ax.legend(fontsize=8)
    save(fig, args.out, "imputation_draws.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    plot_history(ax, imputer.model_.history_, "AEImputer training")
    save(fig, args.out, "imputation_loss.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
