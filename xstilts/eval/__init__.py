"""The leaderboard layout, the official XTREME / XTREME-R scorer, and the score stage's summaries."""


