"""Params, the task registry, languages, paths and atomic io: no heavy imports, no other layer."""
