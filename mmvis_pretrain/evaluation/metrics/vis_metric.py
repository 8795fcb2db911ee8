"""Runner metric: the official YouTube-VIS / OVIS evaluation of online
(frame-by-frame) and whole-video VIS models."""
import json
import logging
import os
import os.path as osp
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           collect_results, get_world_size, is_main_process)
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_text
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from ...registry import METRICS
from ...structures.mask_ops import encode_rle
from ..functional import VideoTrackResults, evaluate_vis
from ..functional.identity_eval import (DEFAULT_SCORE_THR, IDENTITY_KEYS,
                                        evaluate_identity, require_trackeval)
from ..functional.vis_report import (identity_table, per_category_table,
                                     stats_table)


def _field(obj, key: str, default=None):
    """``key`` of a data element (data or metainfo) or of a dict."""
    if isinstance(obj, BaseDataElement):
        return obj.get(key, default)
    return obj.get(key, default) if isinstance(obj, dict) else default


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class VISMetric(BaseMetric):
    """Official YouTube-VIS / OVIS AP of video instance segmentation.

    Works with online models fed frame by frame (mmdet's
    ``TrackImgSampler``: one frame per ``TrackDataSample``) and with
    whole-video samples (e.g. mmdet's ``Mask2FormerVideo``: all frames of a
    video in one sample); both may be mixed.

    **Prediction contract.** Every frame (``DetDataSample`` or its dict)
    carries the metainfo ``video_id``, ``frame_id`` (0-based),
    ``ori_video_length`` (the number of frames of the video; mmdet's
    ``video_length`` is used when absent: in mmdet's frame-level test mode
    ``video_length`` is the number of frames *in the sample*, 1) and
    ``ori_shape``, and ``pred_track_instances`` with ``instances_id`` (M,),
    ``labels`` (M,), ``scores`` (M,) and ``masks`` (M, H, W) bool / uint8
    at ``ori_shape`` (tensor, array, mmdet ``BitmapMasks``, or already a
    list of RLE dicts). A track's video-level label and score are those of
    its **last** appearance: models report their temporally consistent,
    whole-history values on every frame. Optionally ``class_scores``
    (M, K): the track's video-level score of every class (CTVIS's rule,
    e.g. ``OnlineMask2FormerVIS``); such a track becomes (track, class)
    pairs, of which the best ``pairs_per_video`` of the video are results.

    Masks are RLE-encoded as frames arrive; per track the metric keeps only
    those RLEs. When all frames of a video are in, the video becomes result
    entries ``{video_id, category_id, score, segmentations}`` (``None``
    where the track is absent), the top ``topk_per_video`` by score.

    **Evaluation** (:func:`~mmvis_pretrain.evaluation.functional.
    evaluate_vis`) against the raw annotation JSON ``ann_file`` (read with
    mmengine's fileio; mmdet's CocoVID format is not accepted). Label
    ``i`` is the category named ``dataset_meta['classes'][i]`` in that file
    (exact name, else case-insensitive), or the ``i``-th category by id when
    the dataset has no ``classes``. Returns ``AP, AP50, AP75, AP_s, AP_m,
    AP_l, AR1, AR10, AR100, AR_s, AR_m, AR_l`` (+ ``AP_lo/mo/ho``,
    ``AR_lo/mo/ho`` for OVIS occlusion labels) as fractions, -1.0 where no
    GT is in range, under the prefix ``vis/``; the table and the
    per-category AP go to the log.

    **Submission**: with ``outfile_prefix`` the results are written to
    ``<outfile_prefix>/results.json`` and ``<outfile_prefix>/submission.zip``
    (``results.json`` at the archive root, RLE counts as str, masks at the
    original resolution): the file to upload to the official server. With
    ``format_only=True`` nothing is evaluated (no GT needed, ``{}`` is
    returned); ``ann_file`` is then only used, if given, for the
    label -> category mapping, otherwise ``category_id = label + 1`` (the
    official YouTube-VIS / OVIS ids in class order).

    **Identity metrics** (``identity_metrics=True``, docs/
    identity_metrics.md): HOTA, DetA, AssA, LocA, IDF1, IDP, IDR, ID
    switches, MOTA, Frag (TrackEval's arithmetic, detection-averaged over
    categories) and ``HOTA_cls`` / ``IDF1_cls`` (class-averaged), on the
    same results, added as ``vis/HOTA``, ``vis/IDSW``, ...; they count every
    kept result as a track, so only results scoring ``>
    identity_score_thr`` (then the best ``identity_topk_per_video`` of a
    video, if set) are kept. Needs ``trackeval``
    (``pip install 'mmvis_pretrain[identity]'``), checked when the metric is
    built.

    **Distributed**: videos may be split across ranks; partial videos are
    merged at evaluation. A video still incomplete then (frames missing), or
    with frames predicted twice, raises ``ValueError`` naming it.

    Args:
        ann_file (str, optional): Raw YouTube-VIS / OVIS JSON with
            annotations. Required unless ``format_only``.
        format_only (bool): Only write the submission. Defaults to False.
        outfile_prefix (str, optional): Folder for ``results.json`` and
            ``submission.zip``. Required with ``format_only``.
        topk_per_video (int, optional): Keep this many highest-scoring
            results per video. Defaults to None (all).
        pairs_per_video (int, optional): For tracks with ``class_scores``
            (CTVIS's rule): keep this many best (track, class) pairs per
            video. Defaults to None: as many as there are classes (CTVIS's
            ``num_topk``).
        classwise (bool): Log the per-category AP table. Defaults to True.
        classes (Sequence[str] | str, optional): The categories (GT names)
            the evaluation covers, as mmdet's ``CocoMetric`` restricts to
            the dataset's classes: ground truth of other categories is left
            out, so a model of a class subset is scored on its classes.
            None (default): the dataset's ``classes`` (all GT categories
            when the dataset has none); ``'all'``: every GT category.
        iou_thrs (Sequence[float], optional): IoU thresholds, default
            .50:.05:.95.
        max_dets (Sequence[int]): Results per (video, category) for AR.
            Defaults to (1, 10, 100).
        identity_metrics (bool): Add HOTA, IDF1, ID switches (TrackEval).
            Defaults to False.
        identity_score_thr (float): Results scoring above it are tracks
            for the identity metrics. Defaults to 0.3 (the video demo's
            display threshold).
        identity_topk_per_video (int, optional): Then the best this many
            results per video. Defaults to None.
        backend_args (dict, optional): mmengine file backend arguments.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'vis'.
        collect_dir (str, optional): Shared directory for 'cpu' collection.
    """

    default_prefix: Optional[str] = 'vis'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 topk_per_video: Optional[int] = None,
                 pairs_per_video: Optional[int] = None,
                 classwise: bool = True,
                 classes=None,
                 iou_thrs: Optional[Sequence[float]] = None,
                 max_dets: Sequence[int] = (1, 10, 100),
                 identity_metrics: bool = False,
                 identity_score_thr: float = DEFAULT_SCORE_THR,
                 identity_topk_per_video: Optional[int] = None,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if format_only and outfile_prefix is None:
            raise ValueError('VISMetric: format_only=True writes the '
                             'submission: set outfile_prefix')
        if not format_only and ann_file is None:
            raise ValueError(
                'VISMetric: set ann_file (the raw YouTube-VIS / OVIS JSON '
                'with annotations) to evaluate, or format_only=True with '
                'outfile_prefix to only write the submission')
        if topk_per_video is not None and int(topk_per_video) < 1:
            raise ValueError(
                f'topk_per_video must be >= 1, got {topk_per_video}')
        self.ann_file = ann_file
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        if pairs_per_video is not None and int(pairs_per_video) < 1:
            raise ValueError(
                f'pairs_per_video must be >= 1, got {pairs_per_video}')
        self.topk_per_video = topk_per_video
        self.pairs_per_video = pairs_per_video
        self.classwise = classwise
        if isinstance(classes, str) and classes != 'all':
            raise ValueError("VISMetric: classes must be a list of category "
                             f"names, None or 'all', got {classes!r}")
        self.classes = classes
        self.iou_thrs = iou_thrs
        self.max_dets = tuple(max_dets)
        if identity_metrics:
            require_trackeval()  # now, not after a whole test run
            if identity_topk_per_video is not None and \
                    int(identity_topk_per_video) < 1:
                raise ValueError('identity_topk_per_video must be >= 1, got '
                                 f'{identity_topk_per_video}')
        self.identity_metrics = identity_metrics
        self.identity_score_thr = float(identity_score_thr)
        self.identity_topk_per_video = identity_topk_per_video
        self.backend_args = backend_args
        self._videos: Dict = {}  # video id -> VideoTrackResults (incomplete)
        self._done = set()  # ids of the videos completed on this rank

    # ------------------------------------------------------------ process
    def process(self, data_batch, data_samples: Sequence) -> None:
        """Encode and accumulate the frames of a batch.

        Args:
            data_batch: Unused.
            data_samples (Sequence): ``TrackDataSample`` s (or their dicts)
                with one or more frames; a bare frame is accepted, too.
        """
        for sample in data_samples:
            frames = _field(sample, 'video_data_samples')
            if frames is None:
                if _field(sample, 'pred_track_instances') is None:
                    raise ValueError(
                        'VISMetric: a data sample has neither '
                        "'video_data_samples' nor 'pred_track_instances'")
                frames = [sample]
            for frame in frames:
                self._add_frame(frame)

    def _frame_meta(self, frame) -> Tuple:
        video_id = _field(frame, 'video_id')
        if hasattr(video_id, 'item'):  # a 0-d tensor / numpy scalar
            video_id = video_id.item()
        frame_id = _field(frame, 'frame_id')
        length = _field(frame, 'ori_video_length')
        if length is None:
            length = _field(frame, 'video_length')
        shape = _field(frame, 'ori_shape')
        where = f'video {video_id!r}, frame {frame_id!r}'
        if video_id is None or frame_id is None or length is None or \
                shape is None:
            raise ValueError(
                f'VISMetric ({where}): a frame needs the metainfo video_id, '
                'frame_id, ori_video_length (or video_length) and ori_shape')
        frame_id, length = int(frame_id), int(length)
        if not 0 <= frame_id < length:
            raise ValueError(f'VISMetric ({where}): frame_id outside the '
                             f'video length {length}')
        return video_id, frame_id, length, int(shape[0]), int(shape[1])

    def _add_frame(self, frame) -> None:
        video_id, frame_id, length, height, width = self._frame_meta(frame)
        if video_id in self._done:
            raise ValueError(
                f'VISMetric: frame {frame_id} of video {video_id!r} arrived '
                'after the video was complete (frames fed twice?)')
        state = self._videos.get(video_id) or VideoTrackResults(
            video_id, length, height, width)
        state.check_meta(length, height, width, frame_id)
        if frame_id in state.frames:
            raise ValueError(f'VISMetric ({state.where(frame_id)}): the '
                             'frame was predicted twice')
        pred = _field(frame, 'pred_track_instances')
        if pred is None:
            raise ValueError(f'VISMetric ({state.where(frame_id)}): no '
                             'pred_track_instances')
        ids = _field(pred, 'instances_id')
        if ids is None:
            if len(_numpy(_field(pred, 'labels', []))):
                raise ValueError(f'VISMetric ({state.where(frame_id)}): '
                                 'pred_track_instances has no instances_id')
            ids = []
        ids = _numpy(ids).reshape(-1)
        tracks = []
        if len(ids):
            labels = _numpy(_field(pred, 'labels')).reshape(-1)
            scores = _numpy(_field(pred, 'scores')).reshape(-1)
            rles = self._encode(_field(pred, 'masks'), state, frame_id)
            if not len(labels) == len(scores) == len(rles) == len(ids):
                raise ValueError(
                    f'VISMetric ({state.where(frame_id)}): '
                    f'{len(ids)} instances_id, {len(labels)} labels, '
                    f'{len(scores)} scores and {len(rles)} masks')
            if len(set(ids.tolist())) < len(ids):
                raise ValueError(f'VISMetric ({state.where(frame_id)}): '
                                 f'repeated instances_id {ids.tolist()}')
            class_scores = _field(pred, 'class_scores')
            if class_scores is None:
                class_scores = [None] * len(ids)
            else:
                class_scores = _numpy(class_scores).astype(np.float64)
                if class_scores.ndim != 2 or len(class_scores) != len(ids):
                    raise ValueError(
                        f'VISMetric ({state.where(frame_id)}): class_scores '
                        f'of shape {class_scores.shape} for {len(ids)} '
                        'instances, expected (M, K)')
            tracks = list(zip(ids, labels, scores, rles, class_scores))
        # all checks passed: record the frame
        self._videos[video_id] = state
        state.frames.add(frame_id)
        for track_id, label, score, rle, cls_scores in tracks:
            state.add_track(int(track_id), frame_id, rle, int(label),
                            float(score), cls_scores)
        if state.complete:
            self.results.append(state.to_results(self.topk_per_video, self.pairs_per_video))
            del self._videos[video_id]
            self._done.add(video_id)

    @staticmethod
    def _encode(masks, state: VideoTrackResults, frame_id: int) -> List[dict]:
        """(M, H, W) masks (or M RLEs) -> M RLEs with str counts."""
        where = f'VISMetric ({state.where(frame_id)})'
        shape = [state.height, state.width]
        if masks is None:
            raise ValueError(f'{where}: pred_track_instances has no masks')
        if isinstance(masks, (list, tuple)) and (not masks or isinstance(
                masks[0], dict)):
            rles = []
            for rle in masks:
                if list(rle.get('size', [])) != shape:
                    raise ValueError(
                        f"{where}: RLE size {rle.get('size')} is not "
                        f'ori_shape {shape}')
                counts = rle['counts']
                rles.append(
                    dict(
                        size=shape,
                        counts=counts.decode() if isinstance(
                            counts, bytes) else counts))
            return rles
        masks = _numpy(getattr(masks, 'masks', masks))
        if masks.ndim != 3 or list(masks.shape[1:]) != shape:
            raise ValueError(
                f'{where}: masks of shape {tuple(masks.shape)}, expected '
                f'(M, {shape[0]}, {shape[1]}) at ori_shape (the original '
                'resolution)')
        if masks.dtype.kind == 'f':
            # as before (a uint8 cast): a float mask's foreground is >= 1
            masks = masks >= 1
        return encode_rle(masks)

    # ----------------------------------------------------------- evaluate
    def _finish_pending(self) -> None:
        """Merge the incomplete videos of all ranks (collective); complete
        ones join the results of rank 0, incomplete ones raise on every
        rank."""
        gathered = all_gather_object(list(self._videos.values()))
        self._videos = {}
        self._done = set()
        merged: Dict = {}
        for part in gathered:
            for state in part:
                if state.video_id in merged:
                    merged[state.video_id].merge(state)
                else:
                    merged[state.video_id] = state
        incomplete = [s for s in merged.values() if not s.complete]
        if incomplete:
            self.results.clear()
            desc = '; '.join(
                f'video {s.video_id!r}: {len(s.frames)} of {s.length} '
                f'frames (missing e.g. frame '
                f'{min(set(range(s.length)) - s.frames)})'
                for s in incomplete[:5])
            raise ValueError(
                f'VISMetric: {len(incomplete)} video(s) are incomplete at '
                f'evaluation: {desc}. All frames of every video must be '
                'predicted (use TrackImgSampler / a video-level sampler)')
        if is_main_process():
            self.results.extend(
                s.to_results(self.topk_per_video, self.pairs_per_video)
                for s in merged.values())

    def evaluate(self, size: int) -> dict:
        """Collect the videos of all ranks and evaluate on rank 0.

        Args:
            size (int): Unused: the number of results is the number of
                videos, not the dataset length in frames.

        Returns:
            dict: The metrics (``{}`` with ``format_only``), on all ranks.
        """
        self._finish_pending()
        world_size = get_world_size()
        if self.collect_device == 'cpu':
            parts = collect_results([list(self.results)], world_size, 'cpu',
                                    tmpdir=self.collect_dir)
        else:
            parts = collect_results([list(self.results)], world_size,
                                    self.collect_device)
        self.results.clear()
        if is_main_process():
            results = [video for part in parts for video in part]
            metrics = self.compute_metrics(results)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
            out = [metrics]
        else:
            out = [None]
        broadcast_object_list(out)
        return out[0]

    def _load_gt(self) -> dict:
        try:
            gt = json.loads(get_text(self.ann_file,
                                     backend_args=self.backend_args))
        except json.JSONDecodeError as err:
            raise ValueError(f'VISMetric: {self.ann_file} is not valid JSON '
                             f'({err})') from err
        if not isinstance(gt, dict) or 'videos' not in gt or \
                'categories' not in gt:
            raise ValueError(f"VISMetric: {self.ann_file} is not a raw "
                             "YouTube-VIS / OVIS JSON ('videos', "
                             "'categories', 'annotations')")
        if 'images' in gt:
            raise ValueError(
                f'VISMetric: {self.ann_file} is in mmdet CocoVID format; '
                'give the raw YouTube-VIS / OVIS JSON it was converted from')
        return gt

    def label_to_category(self, categories: Optional[List[dict]]) -> Dict:
        """Label index -> category id, by class name.

        Args:
            categories (list[dict], optional): The GT ``categories``; None
                means ``label + 1``.

        Returns:
            dict: ``{label: category_id}``, or an empty dict for
            ``label + 1``.
        """
        classes = (self.dataset_meta or {}).get('classes')
        if categories is None:
            print_log(
                'VISMetric: no ann_file, category_id = label + 1 (the '
                'official YouTube-VIS / OVIS ids if the classes are in the '
                'official order)', 'current', logging.WARNING)
            return {}
        if classes is None:
            by_id = sorted(categories, key=lambda c: c['id'])
            return {i: c['id'] for i, c in enumerate(by_id)}
        exact = {c['name']: c['id'] for c in categories}
        folded = {str(c['name']).lower(): c['id'] for c in categories}
        mapping, missing = {}, []
        for label, name in enumerate(classes):
            cat_id = exact.get(name, folded.get(str(name).lower()))
            if cat_id is None:
                missing.append(name)
            mapping[label] = cat_id
        if missing:
            raise ValueError(
                f'VISMetric: the dataset classes {missing} have no category '
                f'of that name in {self.ann_file} (categories: '
                f"{[c['name'] for c in categories]})")
        return mapping

    def evaluated_classes(self) -> Optional[List[str]]:
        """The category names the evaluation covers, None for all."""
        if self.classes == 'all':
            return None
        if self.classes is not None:
            return list(self.classes)
        classes = (self.dataset_meta or {}).get('classes')
        return list(classes) if classes is not None else None

    def restrict_to_classes(self, gt: dict) -> dict:
        """``gt`` with only the categories of :meth:`evaluated_classes`
        (names matched exactly, else case-insensitively) and their
        annotations; unchanged when it covers all of them."""
        names = self.evaluated_classes()
        if names is None:
            return gt
        exact = {c['name']: c for c in gt['categories']}
        folded = {str(c['name']).lower(): c for c in gt['categories']}
        keep, missing = [], []
        for name in names:
            cat = exact.get(name, folded.get(str(name).lower()))
            if cat is None:
                missing.append(name)
            elif cat not in keep:
                keep.append(cat)
        if missing:
            raise ValueError(
                f'VISMetric: classes {missing} have no category of that name '
                f'in {self.ann_file} (categories: '
                f"{[c['name'] for c in gt['categories']]})")
        if len(keep) == len(gt['categories']):
            return gt
        ids = {c['id'] for c in keep}
        annotations = gt.get('annotations')
        print_log(
            f'VISMetric: evaluating {len(keep)} of {len(gt["categories"])} '
            f'categories ({", ".join(c["name"] for c in keep)}); the ground '
            'truth of the others is left out', 'current')
        return dict(
            gt,
            categories=keep,
            annotations=None if annotations is None else
            [a for a in annotations if a['category_id'] in ids])

    def to_official(self, videos: List[dict],
                    mapping: Dict) -> List[dict]:
        """The official result list from the per-video results."""
        seen, results = set(), []
        for video in videos:
            vid = video['video_id']
            if vid in seen:
                raise ValueError(f'VISMetric: video {vid!r} was predicted '
                                 'twice')
            seen.add(vid)
            for entry in video['entries']:
                label = entry['label']
                if mapping:
                    if label not in mapping:
                        raise ValueError(
                            f'VISMetric: video {vid!r} has a track with '
                            f'label {label}, the dataset has '
                            f'{len(mapping)} classes')
                    cat_id = mapping[label]
                else:
                    cat_id = label + 1
                results.append(
                    dict(
                        video_id=vid,
                        category_id=cat_id,
                        score=entry['score'],
                        segmentations=entry['segmentations']))
        return results

    def write_submission(self, results: List[dict]) -> Tuple[str, str]:
        """Write ``results.json`` and ``submission.zip`` (``results.json`` at
        its root) under ``outfile_prefix``; their paths."""
        os.makedirs(self.outfile_prefix, exist_ok=True)
        json_path = osp.join(self.outfile_prefix, 'results.json')
        zip_path = osp.join(self.outfile_prefix, 'submission.zip')
        with open(json_path, 'w') as f:
            json.dump(results, f)
        with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as zf:
            zf.write(json_path, 'results.json')
        print_log(
            f'VISMetric: wrote {len(results)} results to {json_path} and '
            f'{zip_path} (upload the zip to the official server)', 'current')
        return json_path, zip_path

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate (and/or write) the per-video results of all ranks.

        Args:
            results (list): ``dict(video_id, entries)`` per video.

        Returns:
            dict: The statistics (no prefix); ``{}`` with ``format_only``.
        """
        gt = self._load_gt() if self.ann_file is not None else None
        mapping = self.label_to_category(gt['categories'] if gt else None)
        official = self.to_official(results, mapping)
        if self.outfile_prefix is not None:
            self.write_submission(official)
        if self.format_only:
            return {}
        missing = {v['id']
                   for v in gt['videos']} - {v['video_id']
                                             for v in results}
        if missing:
            print_log(
                f'VISMetric: {len(missing)} of {len(gt["videos"])} videos of '
                f'{self.ann_file} got no prediction (e.g. video '
                f'{sorted(missing)[0]}); their objects count as missed',
                'current', logging.WARNING)
        gt = self.restrict_to_classes(gt)
        stats = evaluate_vis(
            gt,
            official,
            iou_thrs=self.iou_thrs,
            max_dets=self.max_dets,
            classwise=True)
        per_category = stats.pop('per_category')
        print_log(
            f'VIS evaluation of {len(results)} videos, {len(official)} '
            f'results against {self.ann_file}:\n' + stats_table(stats),
            'current')
        if self.classwise:
            print_log('Per-category AP:\n' + per_category_table(per_category),
                      'current')
        if self.identity_metrics:
            ident = evaluate_identity(
                gt, official, score_thr=self.identity_score_thr,
                topk_per_video=self.identity_topk_per_video)
            print_log(identity_table(ident), 'current')
            # floats: mmengine's JSON scalar log writes ints as null
            stats.update({k: float(ident[k]) for k in IDENTITY_KEYS + (
                'HOTA_cls', 'IDF1_cls')})
        return stats
