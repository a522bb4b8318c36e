"""Trainer contract tests."""
