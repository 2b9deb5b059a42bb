"""Find the strangest rows of a table and the column that makes each one strange.

Run: .venv/bin/python recipes/explain_outliers.py
"""

import tabae

df = tabae.datasets.load_adult().sample(10000, random_state=0)
detector = tabae.AEOutlierDetector(contamination=0.01, random_state=0).fit(df)

flagged = df[detector.labels_ == 1]
why = detector.explain(flagged)
report = flagged.assign(score=why.sum(axis=1), because_of=why.idxmax(axis=1)).sort_values("score", ascending=False)
print(report[["score", "because_of", "age", "occupation", "capital-gain", "hours-per-week"]].head(10))
