"""The claims and their answers: the claims registry (claims.yaml) and its verdicts, the research-question
families (families.yaml) and the analyses that answer them, and the languages' metadata they group by.
Nothing here runs an experiment: the numbers come in as runs (xstilts/experiments/)."""
