"""The pipeline: steps computed as of a date, each run written atomically to ``runs/<as_of>/<name>/``."""

from youshu.pipeline.run import STEPS, RunContext, RunResult, Step, run_pipeline
from youshu.pipeline.summary import ProvinceSummary, province_summary

__all__ = ["STEPS", "ProvinceSummary", "RunContext", "RunResult", "Step", "province_summary", "run_pipeline"]
