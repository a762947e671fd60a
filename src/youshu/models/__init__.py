"""Customer models as scikit-learn-style estimators, and the evaluation every model shares.

Modules (import what you use; nothing heavy is imported here):

- ``evaluation``: time splits and labels from observed events in (T, T+H], ROC/PR-AUC, precision and recall
  at k and at a contact budget, lift and gain by decile, calibration, bootstrap intervals,
  ``EvaluationReport`` and its charts (``charts``);
- ``bgnbd`` / ``gammagamma`` / ``rfm``: BG/NBD purchase and Gamma-Gamma spend models by maximum likelihood;
- ``propensity``: ``PropensityRanker`` (LightGBM) with zh reason codes (``reasons``), on any feature table
  (``encoding``); ``baselines``: logistic regression and rank-by-column rules;
- ``scoring``: ``BatchScorer``, compiled (lleaves) batch scoring over Arrow record batches;
- ``targets``: named event targets (wealth purchase, insurance purchase, ...) and labelled feature tables.
"""
