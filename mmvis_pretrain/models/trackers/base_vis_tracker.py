"""The interface every online tracker of the package implements."""
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, Iterable, List


class BaseVISTracker(metaclass=ABCMeta):
    """Online tracker of the package's VIS protocol.

    Compared with mmdet's ``BaseTracker`` (a ``memo`` of per-track
    dictionaries of tensors, updated by ``update(ids, **kwargs)`` and
    read back by ``get(item, ids, num_samples, behavior)``), a tracker here
    keeps its own tensor state (whatever its method needs: a memory bank,
    warped masks, ...) and offers the model four things:

    * :meth:`reset`: forget every track, restart the ids; called by the
      model once per video (``OnlineVISMixin``), never twice;
    * ``update`` / ``track``: one frame in, the frame's tracks out (an
      ``InstanceData`` with ``instances_id``; each tracker documents its
      inputs);
    * :attr:`track_ids`: the ids of the live tracks;
    * a **per-track payload**: any object the model wants to travel with a
      track (STC's dynamic filter, a DVIS-style refiner state, ...), set
      for the tracks of the current frame with :meth:`set_payloads`, read
      with :meth:`payload`, forgotten with the track (:meth:`prune_payloads`
      runs at the end of every frame) and at :meth:`reset`.

    A tracker used on its own (without a model) starts a new video when it
    sees ``frame_id == 0`` (:meth:`begin_frame`), unless it was just reset,
    so a model's reset and the tracker's own rule never reset twice.
    """

    def __init__(self) -> None:
        self._payloads: Dict[int, Any] = {}
        self._fresh = True

    def reset(self) -> None:
        """Forget every track and its payload (a new video)."""
        self._payloads = {}
        self._fresh = True

    def begin_frame(self, frame_id: int) -> None:
        """Start frame ``frame_id``: ``0`` starts a new video, unless the
        tracker was reset since its last frame."""
        if frame_id == 0 and not self._fresh:
            self.reset()
        self._fresh = False

    @property
    @abstractmethod
    def track_ids(self) -> List[int]:
        """Ids of the live tracks."""

    # ------------------------------------------------------------- payload
    def set_payloads(self, track_ids: Iterable[int],
                     payloads: Iterable[Any]) -> None:
        """Attach ``payloads[i]`` to track ``track_ids[i]`` (replacing the
        track's previous payload)."""
        for track_id, payload in zip(track_ids, payloads):
            self._payloads[int(track_id)] = payload

    def payload(self, track_id: int, default: Any = None) -> Any:
        """The payload of a live track, ``default`` if it has none."""
        return self._payloads.get(int(track_id), default)

    @property
    def payloads(self) -> Dict[int, Any]:
        """``{track id: payload}`` of the live tracks that have one."""
        return self._payloads

    def reset_payloads(self, payloads: Dict[int, Any]) -> None:
        """Replace all payloads (``{track id: payload}``)."""
        self._payloads = {int(i): p for i, p in payloads.items()}

    def prune_payloads(self) -> None:
        """Drop the payloads of tracks that are no longer live."""
        live = set(self.track_ids)
        self._payloads = {
            i: p
            for i, p in self._payloads.items() if i in live
        }
