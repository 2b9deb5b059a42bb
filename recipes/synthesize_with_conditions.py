"""Synthesise a table and a conditional slice of it, then evaluate it: scores, plots, HTML report.

A ``TabularVAE`` is fitted on training rows of adult; it generates as many rows, and
``tabae.evaluate`` scores them against the training rows (column shapes, pair trends,
C2ST, logistic detection), the holdout rows it never saw (DCR share, exact copies) and
a classifier of ``income`` trained on synthetic rows and tested on real ones (ML
efficacy). ``sample(conditions=...)`` then draws women aged 50 to 70 only.

The full mode trains 30 epochs on 8,000 rows to stay under a minute; the benchmark
numbers (docs/benchmarks.md) are for ``TabularVAE()`` on 26,000 rows.

Run: python recipes/synthesize_with_conditions.py [--fast] [--out DIR]
Figures: synthesis_report.png (real vs synthetic marginals, pair-trend gaps),
synthesis_conditional.png, synthesis_loss.png; and synthesis_report.html.
"""

import sys

import pandas as pd
from _common import options, plot_history, pyplot, save

import tabae
from tabae.metrics.html import write_html


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    rows, epochs = (600, 3) if args.fast else (10_000, 30)

    df = tabae.datasets.load_adult().sample(rows, random_state=0)
    train, holdout = df.iloc[: int(0.8 * rows)], df.iloc[int(0.8 * rows) :]

    vae = tabae.TabularVAE(epochs=epochs, random_state=0, verbose=False).fit(train)
    synthetic = vae.sample(len(train), random_state=0)
    print(synthetic.head())

    report = tabae.evaluate(train, synthetic, holdout=holdout, target="income")
    print(report.summary()[["score", "reference"]].round(3))
    figure = report.plot()  # marginals side by side, and the pair-trend gap matrix
    write_html(report, args.out / "synthesis_report.html", figure=figure)  # one self-contained file
    print(f"wrote {args.out / 'synthesis_report.html'}")
    save(figure, args.out, "synthesis_report.png")

    # ---- conditions: every generated row meets them
    older_women = vae.sample(1000, random_state=1, conditions={"sex": "Female", "age": (50, 70)})
    assert (older_women["sex"] == "Female").all() and older_women["age"].between(50, 70).all()
    real_slice = df[(df["sex"] == "Female") & df["age"].between(50, 70)]
    shares = pd.DataFrame({
        "real women 50-70": real_slice["occupation"].value_counts(normalize=True),
        "sampled with conditions": older_women["occupation"].value_counts(normalize=True),
        "all real rows": df["occupation"].value_counts(normalize=True),
    }).fillna(0).sort_values("real women 50-70", ascending=False).head(8)
    print(shares.round(3))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    shares.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("share of rows")
    ax.set_title('occupation given conditions={"sex": "Female", "age": (50, 70)}')
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    save(fig, args.out, "synthesis_conditional.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    plot_history(ax, vae.history_, "TabularVAE training")
    save(fig, args.out, "synthesis_loss.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
