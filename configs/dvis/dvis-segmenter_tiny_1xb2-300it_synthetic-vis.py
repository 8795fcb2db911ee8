# Stage 1 of the decoupled VIS miniature (docs/decoupled_vis.md): the
# segmenter is the package's online VIS model, CTVIS style (contrastive
# re-id embedding on the queries) -- exactly the tiny online VIS config;
# this file only names it in the stage chain:
#   stage 1  this config                               -> segmenter .pth
#   stage 2  dvis-tracker_tiny_1xb2-300it_synthetic-vis.py (load_from 1)
#   stage 3  dvis-refiner_tiny_1xb2-300it_synthetic-vis.py (load_from 2)
_base_ = ['../online_vis/online-mask2former_tiny_1xb2-300it_synthetic-vis.py']
