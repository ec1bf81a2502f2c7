"""Stage `finetune@<arm>-<target>`: phase (iii), target-task training and zero-shot prediction.

A fresh head on the arm's encoder (models/intermediate/<arm>/), trained by `target_training`
(zero_shot: English only, the paper's; translate_train: one model per language; translate_train_all:
one model on English and every translation); predictions in XTREME's leaderboard layout under
data/predictions/<arm>/<target>/, with train_log.json and the curves
reports/curves/{loss,dev}/finetune-<arm>-<target>.csv. Resumable; XQuAD and MLQA share one
SQuAD-trained model. The work is xstilts/train/finetune.py.
"""
from xstilts.core import stage
from xstilts.train.finetune import finetune_target

if __name__ == "__main__":
    stage.run(finetune_target, *stage.arm_and_task())
