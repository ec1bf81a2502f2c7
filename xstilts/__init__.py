"""xstilts: X-STILTs (Phang et al., AACL 2020) as a DVC pipeline.

The library, in layers that import one way (README "Layout"):
    core      params and their rules, the task registry, languages, paths, atomic io, stage running, code
              manifests, dry runs
    data      loading sources (Hub, local mirror, CCGbank), normalizers, prepared data, translation
    model     encoders per architecture, tokenizer training, heads, nearest-neighbour search
    metrics   the metric functions (accuracy, F1, SQuAD/MLQA, BUCC F1, mAP@k)
    kinds     one class per task kind: featurize, head and loss, decode, dev score, translate, files, score
    train     the training loop, the multi-task sampler, prediction, MLM pretraining
    eval      the leaderboard layout, the official scorer, score summaries
    world     the tiny profile's synthetic world
    claims       the claims and families registries, verdicts, family answers, language metadata
    experiments  running experiments (grid, DVC queue, SLURM, S3), collected results, cost, preflight
    report       the LaTeX report: numbers, figures, document
The DVC stages are the scripts in the repository's stages/ folder, one per stage, on top of this.
"""
