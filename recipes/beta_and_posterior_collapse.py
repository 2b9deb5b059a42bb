"""beta, free bits and posterior collapse: how much of its latent code a TabularVAE uses.

A VAE's loss is reconstruction + beta * KL(q(z|x) || N(0, I)). Each latent dimension
whose KL goes to 0 carries no information about the row: the posterior has collapsed
onto the prior there. A strong decoder (tabae's autoregressive one, where each column
also sees the previous columns) and a large beta push towards collapse. The recipe fits
VAEs on adult over a grid of beta and free bits (a floor on each dimension's KL below
which it is not pushed) and measures, per fit:

* KL per latent dimension, averaged over rows (nats), from the encoder's mean and
  variance;
* active units: dimensions whose posterior mean varies across rows,
  Var_x(E[z|x]) > 0.01 (Burda et al., 2016);
* the mean log-likelihood per row on held-out rows (``model.score``).

Run: python recipes/beta_and_posterior_collapse.py [--fast] [--out DIR]
Figures: vae_kl_per_dimension.png (sorted KL per dimension for each setting),
vae_active_units.png (active units and held-out log-likelihood against beta).
"""

import sys
import warnings

import numpy as np
import pandas as pd
import torch
from _common import options, pyplot, save

import tabae


def kl_per_dimension(vae, frame: pd.DataFrame) -> np.ndarray:
    """Mean KL(q(z|x) || N(0, I)) of each latent dimension over the rows (nats)."""
    x, m = vae.encoder_.transform(frame)
    x, m = torch.from_numpy(x), torch.from_numpy(m)
    with torch.no_grad():  # the network's encoder gives the posterior mean and log-variance
        mu, logvar, _ = vae.net_.encode(x, m[:, vae.span_index_.feature_column].float(), m.float())
    return (0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)).mean(0).numpy()


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    if args.fast:
        rows, epochs, betas, free_bits = 600, 3, (0.5, 8.0), (0.0, 0.5)
    else:
        rows, epochs, betas, free_bits = 2000, 20, (0.1, 0.5, 2.0, 8.0), (0.0, 0.5)

    # Held-out rows hold rare categories the training rows lack (mapped to the shared
    # "other" slot, with a TabaeWarning). Expected here.
    warnings.filterwarnings("ignore", message=".*categories not seen at fit", category=tabae.TabaeWarning)
    df = tabae.datasets.load_adult().sample(rows + 1000, random_state=0)
    train, held_out = df.iloc[:rows], df.iloc[rows:]

    results = []
    for fb in free_bits:
        for beta in betas:
            vae = tabae.TabularVAE(beta=beta, free_bits=fb, latent_dim=16, epochs=epochs,
                                   random_state=0, verbose=False).fit(train)
            kl = kl_per_dimension(vae, held_out)
            active = int((vae.encode(held_out).var(axis=0) > 0.01).sum())
            results.append({"beta": beta, "free_bits": fb, "active units": active, "KL total": kl.sum(),
                            "log-likelihood": vae.score(held_out), "kl": np.sort(kl)[::-1]})
            print(f"beta={beta:<4} free_bits={fb:<4} active units {active:2d}/16, KL {kl.sum():6.2f} nats, "
                  f"held-out log-likelihood {results[-1]['log-likelihood']:.2f}")
    table = pd.DataFrame(results)

    # ---- figures
    fig, axes = plt.subplots(1, len(free_bits), figsize=(5 * len(free_bits), 3.5), sharey=True)
    for ax, fb in zip(np.atleast_1d(axes), free_bits, strict=True):
        for row in table[table["free_bits"] == fb].itertuples():
            ax.plot(range(1, 17), row.kl, marker="o", markersize=3, label=f"beta={row.beta}")
        ax.axhline(0.01, color="grey", linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel("latent dimension (sorted by KL)")
        ax.set_title(f"free_bits={fb}")
    np.atleast_1d(axes)[0].set_ylabel("KL per dimension (nats)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    save(fig, args.out, "vae_kl_per_dimension.png")

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    for fb in free_bits:
        part = table[table["free_bits"] == fb]
        a.plot(part["beta"], part["active units"], marker="o", label=f"free_bits={fb}")
        b.plot(part["beta"], part["log-likelihood"], marker="o", label=f"free_bits={fb}")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_xlabel("beta")
        ax.legend(fontsize=8)
    a.set_ylabel("active units (of 16)")
    b.set_ylabel("held-out log-likelihood per row")
    save(fig, args.out, "vae_active_units.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
