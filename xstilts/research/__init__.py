"""The research layer: claims and their verdicts, results collected from experiments, grids and
families, cost estimates, language metadata, the report, and the stages' code deps."""


