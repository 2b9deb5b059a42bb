"""The classic autoencoder example on scikit-learn's 8x8 digits, with four tabae models.

Each image is a row of 64 pixel columns (values 0-16). A vanilla, a denoising, a sparse
and a variational autoencoder squeeze it through a 2-D latent code and rebuild it with a
squared-error (MSE) loss (``numeric_encoding="standard", numeric_loss="mse"``). The
recipe shows

* originals against reconstructions (the decoder's output for the encoded row);
* the 2-D latent space of each model, coloured by digit (labels are never used to fit);
* new digits sampled from the VAE;
* anomalies: rotated and noised digits among clean ones, flagged when their
  reconstruction error is above the 99% quantile of the training rows' errors.

The threshold rule: a clean digit like the training ones exceeds the training scores'
99% quantile with probability about 1%, so the quantile you pick is the false-alarm rate
you accept; no anomaly labels are needed (``AEOutlierDetector(contamination=0.01)``
sets the same threshold).

The VAE here has ``autoregressive=False``: with the default autoregressive decoder each
pixel also sees the previous pixels, which predict it so well that the 2-D code carries
little (see recipes/beta_and_posterior_collapse.py).

Run: python recipes/digits_autoencoders.py [--fast] [--out DIR]
Figures: digits_reconstructions.png, digits_latent.png, digits_vae_samples.png,
digits_anomalies.png.
"""

import sys
import warnings

import numpy as np
import pandas as pd
import torch
from _common import options, pyplot, save
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

import tabae


def reconstruct(model, frame: pd.DataFrame) -> np.ndarray:
    """The decoder's output for each row, in pixel units (the model's tensor interface)."""
    x, m = model.encoder_.transform(frame)  # encoded rows and observed-cell mask
    mean, _, _ = model.heads(torch.from_numpy(x), torch.from_numpy(m))  # every cell visible
    return model.encoder_.inverse_transform(mean.numpy()).to_numpy(float)


def images(ax_row, pixels, title=None) -> None:
    for ax, img in zip(ax_row, pixels, strict=False):
        ax.imshow(np.asarray(img, float).reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax_row[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=9)


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    epochs = 3 if args.fast else 40
    # Three border pixels are always 0; tabae warns about constant columns. Expected here.
    warnings.filterwarnings("ignore", message=".*constant column", category=tabae.TabaeWarning)

    digits = load_digits()
    X = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    y = digits.target
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1500], order[1500:]

    common = dict(latent_dim=2, numeric_encoding="standard", numeric_loss="mse", epochs=epochs,
                  random_state=0, verbose=False)
    models = {
        "vanilla": tabae.Autoencoder(**common),
        "denoising": tabae.DenoisingAE(mask_rate=0.3, swap_rate=0.1, **common),
        "sparse": tabae.Autoencoder(sparsity=0.05, **common),
        "variational": tabae.TabularVAE(beta=1.0, autoregressive=False, **common),
    }
    for name, model in models.items():
        model.fit(X.iloc[train])
        error = np.sqrt(np.mean((reconstruct(model, X.iloc[test]) - X.iloc[test].to_numpy()) ** 2))
        print(f"{name:12s} {len(model.history_):3d} epochs, test reconstruction RMSE {error:.2f} (pixels 0-16)")

    # ---- originals vs reconstructions: one test image per digit
    shown = [test[np.flatnonzero(y[test] == d)[0]] for d in range(10)]
    fig, axes = plt.subplots(1 + len(models), 10, figsize=(10, 1.1 * (1 + len(models))))
    images(axes[0], X.iloc[shown].to_numpy(), "original")
    for row, (name, model) in zip(axes[1:], models.items(), strict=True):
        images(row, reconstruct(model, X.iloc[shown]), name)
    save(fig, args.out, "digits_reconstructions.png")

    # ---- the 2-D latent spaces
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.8))
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        z = model.encode(X)
        points = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=4)
        ax.set_title(f"{name} (latent_dim=2)")
    fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
    save(fig, args.out, "digits_latent.png")

    # ---- new digits from the VAE
    samples = models["variational"].sample(40, random_state=0).to_numpy(float)
    fig, axes = plt.subplots(4, 10, figsize=(10, 4.2))
    for k in range(4):
        images(axes[k], samples[10 * k : 10 * k + 10])
    fig.suptitle("TabularVAE.sample(40): digits drawn from the latent mixture prior")
    save(fig, args.out, "digits_vae_samples.png")

    # ---- anomalies: rotated and noised test digits among clean ones
    rng = np.random.default_rng(1)
    clean = X.iloc[test].to_numpy()
    rotated = np.stack([np.rot90(img.reshape(8, 8), k=1).ravel() for img in clean[:30]])
    noised = clean[30:60].copy()
    spots = rng.random(noised.shape) < 0.3
    noised[spots] = rng.integers(0, 17, spots.sum())
    mixed = pd.DataFrame(np.vstack([clean, rotated, noised]), columns=X.columns)
    kind = np.array(["clean"] * len(clean) + ["rotated"] * 30 + ["noised"] * 30)

    for name, model in models.items():
        scores = model.decision_function(mixed)
        auc = {k: roc_auc_score(kind[kind != k2] != "clean", scores[kind != k2])
               for k, k2 in [("rotated", "noised"), ("noised", "rotated")]}
        print(f"{name:12s} ROC-AUC rotated {auc['rotated']:.2f}, noised {auc['noised']:.2f}")

    detector = models["vanilla"]
    threshold = np.quantile(detector.decision_function(X.iloc[train]), 0.99)  # the rule
    scores = detector.decision_function(mixed)
    flagged = scores > threshold
    for k in ("clean", "rotated", "noised"):
        print(f"flagged {flagged[kind == k].mean():.0%} of the {k} digits")

    fig = plt.figure(figsize=(10, 5.5))
    ax = fig.add_subplot(2, 1, 1)
    # Ink in a pixel that is blank in every training image costs a lot: a wide range, so
    # the axis is linear up to 10 and logarithmic beyond.
    lo, hi = scores.min(), max(scores.max(), 11.0)
    bins = np.unique(np.r_[np.linspace(lo, 10, 15), np.geomspace(10, hi, 40)])
    for k in ("clean", "rotated", "noised"):
        ax.hist(scores[kind == k], bins=bins, alpha=0.6, label=k)
    ax.set_xscale("symlog", linthresh=10)
    ax.axvline(threshold, color="black", linestyle="--", label="99% quantile of training scores")
    ax.set_xlabel("decision_function of the vanilla autoencoder (reconstruction error)")
    ax.legend(fontsize=8)
    # The highest-scoring rotated and noised digits, and the clean ones nearest a false alarm.
    shown = [i for k in ("rotated", "noised") for i in np.flatnonzero(kind == k)[np.argsort(-scores[kind == k])][:4]]
    shown += list(np.flatnonzero(kind == "clean")[np.argsort(-scores[kind == "clean"])][:2])
    for k, i in enumerate(shown):
        sub = fig.add_subplot(2, 10, 11 + k)
        sub.imshow(mixed.iloc[i].to_numpy(float).reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        sub.set_title(f"{kind[i]}\n{'flagged' if flagged[i] else 'passed'}", fontsize=7)
        sub.set_xticks([])
        sub.set_yticks([])
    fig.tight_layout()
    save(fig, args.out, "digits_anomalies.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
