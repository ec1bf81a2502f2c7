"""Running experiments wherever they run: the runs collected from git and reports/grid.json with their
provenance, matching them to the claims' settings and families, planning and running the missing ones
(DVC's queue here, a SLURM job array, the shared DVC remote), their cost, and the preflight before a
long run."""
