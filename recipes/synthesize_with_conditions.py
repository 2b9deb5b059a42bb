"""Make a synthetic copy of a table, a conditional slice of it, and check its quality.

Run: .venv/bin/python recipes/synthesize_with_conditions.py
"""

import tabae
from tabae.metrics import evaluate

df = tabae.datasets.load_adult()
train, holdout = df.iloc[:26000], df.iloc[26000:]

vae = tabae.TabularVAE(random_state=0).fit(train)
synthetic = vae.sample(len(train), random_state=0)
print(synthetic.head())

report = evaluate(train, synthetic, holdout=holdout, target="income")
print(report.summary())

older_women = vae.sample(1000, random_state=1, conditions={"sex": "Female", "age": (50, 70)})
print(older_women[["age", "sex", "occupation"]].describe(include="all"))
