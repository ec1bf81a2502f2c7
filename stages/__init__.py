"""xstilts: X-STILTs (Phang et al., AACL 2020) as a DVC pipeline.

Modules named after a DVC stage (world, prepare, pretrain, intermediate, finetune, retrieve,
score, report) hold that stage's entry point; the shared code lives in config, tasks, data,
modeling, training and metrics.
"""
