"""Tests of the canonical schema."""
