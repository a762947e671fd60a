"""The synthetic province: canonical tables generated from planted latent states (truth kept apart)."""

from youshu.synth.generate import SynthParams, SynthResult, generate

__all__ = ["SynthParams", "SynthResult", "generate"]
