"""MLflow "models from code" entry point: MLflow runs this file to build the pyfunc model (never imported)."""

from mlflow.models import set_model

from youshu.registry.pyfunc import YoushuPyfunc

set_model(YoushuPyfunc())
