"""Stage `pretrain`: phase (i), the `model` param's encoder, into models/pretrained/.

Profile tiny: a tokenizer trained on the world's corpus (SentencePiece unigram for the XLM-R shapes,
cased WordPiece for the BERT shape) and a small masked LM of the model's shape pretrained from
scratch on all languages, through the trainer every training stage uses (runtime device, resumable).
Profile paper: the Hub checkpoint materialized at its pinned revision (for mT5, its encoder stack),
so downstream stages depend on content in models/, not on a Hub cache.
xstilts/train/pretrain.py has both; pretrain_info.json records what was made or loaded.
"""
import json
import os
import shutil
import time

from xstilts.core import io, paths, stage
from xstilts.train import pretrain, runtime


def main(params) -> None:
    pp = params.group("pretrain")
    spec = params.model_spec()
    t0 = time.time()
    if params.profile == "paper":
        with io.atomic_dir(paths.PRETRAINED) as tmp:
            info = {"name": params.model, **pretrain.pretrain_paper(pp, spec, tmp)}
            (tmp / paths.PRETRAIN_INFO.name).write_text(json.dumps(info, indent=2) + "\n")
    else:
        from xstilts.train import checkpoint
        rt = params.runtime()
        runtime.relaunch(rt)  # processes > 1: this command again under torchrun
        main_process = os.environ.get("RANK", "0") == "0"
        work = paths.PRETRAINED.with_name(f".{paths.PRETRAINED.name}.rank-{os.environ.get('RANK', '0')}")
        with io.atomic_dir(paths.PRETRAINED if main_process else work) as tmp:
            info = pretrain.pretrain_tiny(pp, spec, params.seed, tmp, rt)
            if main_process:
                used, stats = info.pop("cost")
                info = {"name": params.model, **info}
                (tmp / paths.PRETRAIN_INFO.name).write_text(json.dumps(info, indent=2) + "\n")
        if not main_process:
            shutil.rmtree(work, ignore_errors=True)
            return
        runtime.write_cost("pretrain", used, {"mlm": stats}, time.time() - t0)
        checkpoint.clear("pretrain")
    if info.get("differences"):
        print(f"warning: pretrain: {params.model} is not the registry's {info['model']}: "
              f"{', '.join(info['differences'])}; the report will say so and judge no paper claim on it")
    extra = f", MLM loss {info['first_mlm_loss']:.2f} -> {info['final_mlm_loss']:.2f}" \
        if "final_mlm_loss" in info else ""
    print(f"pretrain: {params.model} ({info['kind']}), {info['parameters']:,} encoder parameters{extra} -> "
          f"{paths.PRETRAINED}")


if __name__ == "__main__":
    stage.run(main)
