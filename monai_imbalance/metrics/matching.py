r"""When a predicted lesion finds a ground-truth lesion: the matching rule, one validated object.

Two families of rules decide the per-lesion records that every lesion-wise figure is computed from:

* **many-to-one** (``assignment="many_to_one"``, paper 1's rule, Shirokikh et al., MICCAI 2020, 4.3): a
  ground-truth lesion is hit by every predicted component that overlaps it (``hit_rule="overlap"``) or whose
  Dice / IoU with it reaches ``hit_threshold``; it is matched to the hitting component of highest Dice. One
  component may hit many lesions, so a blob over the whole volume "detects" every lesion with no false
  positive;
* **one-to-one** (``assignment="one_to_one"``, picai_eval's ``evaluate_case`` rule): the overlap matrix
  between lesions and components (IoU, or Dice for ``hit_rule="dice"``) with the entries below
  ``hit_threshold`` set to 0 and 1 added to the others, then the assignment of maximal total
  (``scipy.optimize.linear_sum_assignment``), i.e. the most matches plus the most overlap, as picai_eval
  counts them; a lesion matched with a positive overlap is detected at its component's confidence, and every
  component left unmatched is a false positive, a blob's surplus included. (panoptica's maximal bipartite
  matching maximises the overlap alone and can find one detection fewer; tested.)

:meth:`LesionMatching.paper` and :meth:`LesionMatching.strict` (one-to-one, IoU ≥ 0.1, picai_eval's default)
name the two views that every report shows side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from monai.utils import StrEnum
from scipy.optimize import linear_sum_assignment

from monai_imbalance.utils.validation import check_fraction, check_option

__all__ = ["Assignment", "HitRule", "LesionMatching", "as_matchings", "default_key_view", "match_pairs"]


class HitRule(StrEnum):
    """When a predicted lesion may find a ground-truth lesion: any overlap, or a Dice / IoU of at least a threshold."""

    OVERLAP = "overlap"
    DICE = "dice"
    IOU = "iou"


class Assignment(StrEnum):
    """How many lesions one predicted component may find: many (paper 1) or one (picai_eval, panoptica)."""

    MANY_TO_ONE = "many_to_one"
    ONE_TO_ONE = "one_to_one"


# the name the reporting modules import; the one implementation is utils.validation.check_option
option = check_option


@dataclass(frozen=True)
class LesionMatching:
    r"""The rule that decides when a predicted component finds a ground-truth lesion (see the module docstring).

    .. math:: D_{ij} = \frac{2\,|G_i \cap P_j|}{|G_i| + |P_j|}, \qquad
              J_{ij} = \frac{|G_i \cap P_j|}{|G_i \cup P_j|}

    Args:
        assignment: ``"many_to_one"`` (paper 1) or ``"one_to_one"`` (optimal assignment of the overlaps).
        hit_rule: ``"overlap"`` (any shared voxel), ``"dice"`` (:math:`D_{ij}` ≥ ``hit_threshold``) or
            ``"iou"`` (:math:`J_{ij}` ≥ ``hit_threshold``). One-to-one maximises the number of matches plus
            their total Dice under ``"dice"``, plus their total IoU otherwise.
        hit_threshold: the Dice / IoU a hit needs, in ``(0, 1]``; ignored (and reported as ``None``) under
            ``"overlap"``.

    Raises:
        ValueError: on an unknown ``assignment`` / ``hit_rule`` or a ``hit_threshold`` outside ``(0, 1]``.

    Example:
        >>> LesionMatching.strict()
        LesionMatching(assignment='one_to_one', hit_rule='iou', hit_threshold=0.1)
        >>> LesionMatching.strict().describe(), LesionMatching.paper().describe()
        ('one-to-one, IoU ≥ 0.1', 'many-to-one, any overlap (paper 1)')
    """

    assignment: str = "many_to_one"
    hit_rule: str = "overlap"
    hit_threshold: float | None = None

    def __post_init__(self) -> None:
        assignment = check_option(self.assignment, Assignment, "assignment").value
        rule = check_option(self.hit_rule, HitRule, "hit_rule").value
        threshold = self.hit_threshold
        if rule == HitRule.OVERLAP:
            threshold = None
        else:
            if threshold is None:
                raise ValueError(f"`hit_threshold` is required with hit_rule={rule!r}: a Dice / IoU in (0, 1].")
            threshold = check_fraction(threshold, "hit_threshold", low_open=True, high_open=False)
        object.__setattr__(self, "assignment", assignment)
        object.__setattr__(self, "hit_rule", rule)
        object.__setattr__(self, "hit_threshold", threshold)

    @classmethod
    def paper(cls) -> LesionMatching:
        """Paper 1's rule: many-to-one, any overlap."""
        return cls()

    @classmethod
    def strict(cls, hit_rule: str = "iou", hit_threshold: float = 0.1) -> LesionMatching:
        """One-to-one at IoU ≥ 0.1 by default (picai_eval's ``evaluate_case`` default)."""
        return cls("one_to_one", hit_rule, hit_threshold)

    @property
    def one_to_one(self) -> bool:
        """Whether a component may find at most one lesion."""
        return self.assignment == Assignment.ONE_TO_ONE

    def describe(self) -> str:
        """The rule in words, as reports print it."""
        how = "one-to-one" if self.one_to_one else "many-to-one"
        if self.hit_rule == HitRule.OVERLAP:
            return f"{how}, any overlap" + ("" if self.one_to_one else " (paper 1)")
        return f"{how}, {'IoU' if self.hit_rule == HitRule.IOU else 'Dice'} ≥ {self.hit_threshold:g}"

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serialisable dictionary (with the description)."""
        return {**asdict(self), "rule": self.describe()}

    @classmethod
    def coerce(cls, value: Any, name: str = "matching") -> LesionMatching:
        """A :class:`LesionMatching` from itself, ``"paper"`` / ``"strict"``, or a mapping of its arguments.

        Example:
            >>> LesionMatching.coerce({"assignment": "one_to_one", "hit_rule": "dice", "hit_threshold": 0.2})
            LesionMatching(assignment='one_to_one', hit_rule='dice', hit_threshold=0.2)
        """
        if isinstance(value, LesionMatching):
            return value
        if isinstance(value, str):
            if value == "paper":
                return cls.paper()
            if value == "strict":
                return cls.strict()
            raise ValueError(f"`{name}` must be 'paper', 'strict', a LesionMatching or a mapping, got {value!r}.")
        if isinstance(value, Mapping):
            unknown = set(value) - {"assignment", "hit_rule", "hit_threshold"}
            if unknown:
                raise ValueError(
                    f"`{name}` has unknown keys {sorted(unknown)}; expected assignment, hit_rule, hit_threshold."
                )
            return cls(**dict(value))
        raise TypeError(
            f"`{name}` must be 'paper', 'strict', a LesionMatching or a mapping, got {type(value).__name__}."
        )


def as_matchings(matchings: Any, name: str = "matchings") -> dict[str, LesionMatching]:
    """A validated ``{view name: LesionMatching}`` dictionary; ``None`` gives the two views ``paper`` and ``strict``.

    Example:
        >>> list(as_matchings(None))
        ['paper', 'strict']
        >>> as_matchings({"dice": {"assignment": "one_to_one", "hit_rule": "dice", "hit_threshold": 0.5}})["dice"]
        LesionMatching(assignment='one_to_one', hit_rule='dice', hit_threshold=0.5)
    """
    if matchings is None:
        return {"paper": LesionMatching.paper(), "strict": LesionMatching.strict()}
    if not isinstance(matchings, Mapping) or not matchings:
        raise TypeError(f"`{name}` must be a non-empty mapping of view names to matchings, got {matchings!r}.")
    out = {}
    for key, value in matchings.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"`{name}` keys must be non-empty strings, got {key!r}.")
        out[key] = LesionMatching.coerce(value, f"{name}[{key!r}]")
    return out


def default_key_view(views: Any) -> str:
    """The view that heads a report and selects models when none is named: ``strict`` when present, else the first.

    Example:
        >>> default_key_view(["paper", "strict"]), default_key_view(["records"])
        ('strict', 'records')
    """
    names = list(views)
    if not names:
        raise ValueError("`views` must name at least one view, got none.")
    return "strict" if "strict" in names else names[0]


def match_pairs(
    gi: np.ndarray, pj: np.ndarray, inter: np.ndarray, gt_size: np.ndarray, pr_size: np.ndarray, m: LesionMatching
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The matched (lesion, component) pairs of one case under a matching, from its overlapping pairs.

    Args:
        gi: ``(P,)`` lesion ids (1-based) of the overlapping pairs (each pair once).
        pj: ``(P,)`` component ids (1-based).
        inter: ``(P,)`` intersection voxel counts (positive).
        gt_size: ``(K + 1,)`` lesion sizes by id (index 0 unused).
        pr_size: ``(M + 1,)`` component sizes by id.
        m: the matching.

    Returns:
        ``(lesion ids, component ids, dice, credited)``: one entry per matched lesion (its component and
        their Dice), and the ids of the components that are not false positives: under many-to-one every
        component that hits a lesion (matched or not, paper 1's rule), under one-to-one the matched ones.

    Example:
        >>> gi, pj, inter = np.array([1, 2]), np.array([1, 1]), np.array([4.0, 4.0])
        >>> sizes_g, sizes_p = np.array([0, 4.0, 4.0]), np.array([0, 8.0])
        >>> match_pairs(gi, pj, inter, sizes_g, sizes_p, LesionMatching.strict())[0].tolist()
        [1]
        >>> match_pairs(gi, pj, inter, sizes_g, sizes_p, LesionMatching.paper())[0].tolist()
        [1, 2]
    """
    inter = inter.astype(np.float64)
    dice = 2.0 * inter / (gt_size[gi] + pr_size[pj])
    score = dice if m.hit_rule == HitRule.DICE else inter / (gt_size[gi] + pr_size[pj] - inter)
    hit = np.ones(gi.size, dtype=bool) if m.hit_rule == HitRule.OVERLAP else score >= m.hit_threshold
    gi, pj, dice, score = gi[hit], pj[hit], dice[hit], score[hit]
    if gi.size == 0:
        return gi, pj, dice, pj
    if not m.one_to_one:
        # best match per lesion: sort by (lesion, -dice, component id), the first of every lesion
        order = np.lexsort((pj, -dice, gi))
        first = order[np.r_[True, gi[order][1:] != gi[order][:-1]]]
        return gi[first], pj[first], dice[first], np.unique(pj)
    # one-to-one: the assignment of maximal total (1 + score) over the pairs that can hit, as picai_eval
    rows, row_of = np.unique(gi, return_inverse=True)
    cols, col_of = np.unique(pj, return_inverse=True)
    matrix = np.zeros((rows.size, cols.size))
    matrix[row_of, col_of] = 1.0 + score
    r, c = linear_sum_assignment(matrix, maximize=True)
    keep = matrix[r, c] > 0
    r, c = r[keep], c[keep]
    dice_matrix = np.zeros_like(matrix)
    dice_matrix[row_of, col_of] = dice
    return rows[r], cols[c], dice_matrix[r, c], cols[c]
