# Pipeline benchmark (tools/analysis_tools/benchmark_pipeline.py): mmdet's
# standard single-image COCO instance pipeline, the reference the
# pseudo-video pipelines of this folder are measured against.
_base_ = '../coco_instance.py'
