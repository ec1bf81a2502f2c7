"""The training loop (every training stage), the multi-task sampler, prediction, MLM pretraining."""


