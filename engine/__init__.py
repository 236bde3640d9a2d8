"""Composition root: configuration, app factory, CLI, workers."""
