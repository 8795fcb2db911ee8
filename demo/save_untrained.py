"""Save a freshly initialised model of CONFIG as a checkpoint (the
"untrained" reference of the demo): ``python demo/save_untrained.py CONFIG OUT``."""
import argparse

import torch
from mmengine.runner import set_random_seed

import mmvis_pretrain  # noqa: F401
from mmvis_pretrain.registry import MODELS
from mmvis_pretrain.utils import register_all_modules
from mmvis_pretrain.utils.runtime_cfg import load_config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    register_all_modules()
    set_random_seed(args.seed)
    model = MODELS.build(load_config(args.config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, args.out)


if __name__ == '__main__':
    main()
