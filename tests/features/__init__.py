"""Tests of the feature sets (youshu.features)."""
