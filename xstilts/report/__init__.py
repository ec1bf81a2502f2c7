"""The report (stage `report`): the numbers it shows, its figures, and the LaTeX document rendered from
templates/report.tex.j2."""
