"""The shared model platform: MLflow registry of youshu models, model cards and use cases (应用案例).

The only package that imports MLflow, always inside functions (``youshu --help`` stays fast):

- ``store``: the embedded store (``registry/mlflow.db`` + ``registry/artifacts``) or a server URI;
- ``fingerprint``: definitions hash and cheap warehouse fingerprint;
- ``card``: model cards with gender/age-band breakdowns;
- ``publish``: log a youshu model folder as a pyfunc model and register it (``champion``/``challenger``);
- ``versions``: list, show, promote, load by alias, predict, compare on one out-of-time window;
- ``usecases``: the YAML catalogue of use cases.
"""
