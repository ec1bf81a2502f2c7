"""xstilts: X-STILTs (Phang et al., AACL 2020) as a DVC pipeline.

The library, in layers that import one way (README "Layout"):
    core      params, the task registry, languages, paths, atomic io
    data      loading sources (Hub, local mirror, CCGbank), normalizers, prepared data, translation
    model     encoders per architecture, tokenizer training, heads, nearest-neighbour search
    metrics   the metric functions (accuracy, F1, SQuAD/MLQA, BUCC F1, mAP@k)
    kinds     one class per task kind: featurize, head and loss, decode, dev score, translate, files, score
    train     the training loop, the multi-task sampler, prediction, MLM pretraining
    eval      the leaderboard layout, the official scorer, score summaries
    world     the tiny profile's synthetic world
    research  claims, results, grids, families, cost, languages, the report, stage deps
The DVC stages are the scripts in the repository's stages/ folder, one per stage, on top of this.
"""
