"""Tests of the youshu command line."""
