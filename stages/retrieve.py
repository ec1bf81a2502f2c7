"""Stage `retrieve@<arm>-<target>`: the targets with no training data of their own.

No fine-tuning: the arm's encoder embeds sentences (hidden_states[layer], mean-pooled by default;
paper.md §2b: XLM-R large's "layer 13" = hidden_states[14]) and the target's retrieval kind does the
rest (xstilts/kinds: bitext = Tatoeba, mining = BUCC, ranking = LAReQA and Mewsli-X; their search is
XTREME's, xstilts/model/search.py). Predictions in the leaderboard layout under
data/predictions/<arm>/<target>/, plus retrieval_log.json (layer, pooling, thresholds, sizes).
A target the prepare stage skipped gets only skipped.json, without loading torch.
"""
from xstilts.core import stage
from xstilts.train.retrieve import retrieve_target

if __name__ == "__main__":
    stage.run(retrieve_target, *stage.arm_and_task())
