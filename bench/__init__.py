"""Benchmarks: ``./run bench [name ...]`` runs ``bench/<name>.py`` (all by default).

Each module is self-contained (``python -m bench.<name>``): it sets up what it
needs (a temporary data dir, servers, workers), prints its numbers and the
command that produced them, and stops everything it started.
"""
