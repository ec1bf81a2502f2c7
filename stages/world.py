"""Stage `world`: generate the embedded synthetic multilingual world (profile tiny's data and corpus)
under data/world/ (xstilts/world/generate.py says what is in it). Profile paper has no world
(`paper.world: null`): the stage writes an empty placeholder with the same paths, so the stages
that list data/world paths as deps (for profile tiny) never rerun when a tiny.* param changes."""
from xstilts.core import stage
from xstilts.world.generate import write_world

if __name__ == "__main__":
    stage.run(write_world)
