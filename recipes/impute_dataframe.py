"""Clean a DataFrame: fill holes once for analysis, or five times for multiple imputation.

Run: .venv/bin/python recipes/impute_dataframe.py
"""

import numpy as np

import tabae

df = tabae.datasets.load_adult().sample(5000, random_state=0)
holes = df.mask(np.random.default_rng(0).random(df.shape) < 0.2)  # hide 20% of the cells

imputer = tabae.AEImputer(random_state=0).fit(holes)
filled = imputer.transform(holes)
assert filled.where(holes.notna()).equals(holes.where(holes.notna()))  # observed cells untouched

miss = holes["occupation"].isna() & df["occupation"].notna()
print(f"occupation accuracy on hidden cells: {(filled['occupation'][miss] == df['occupation'][miss]).mean():.3f}")

# Multiple imputation: estimate the mean age with honest uncertainty (Rubin's rules).
draws = imputer.transform_draws(holes, n_draws=5, random_state=0)
pooled = tabae.pool([d["age"].mean() for d in draws], [d["age"].var() / len(d) for d in draws])
print(f"mean age {float(pooled.estimate):.2f} +/- {float(pooled.std_error):.2f} (true {df['age'].mean():.2f})")
