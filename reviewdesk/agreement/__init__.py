"""Inter-annotator agreement for one criterion, from long-format labels: one row per rating.

Input: a pandas DataFrame with columns `item`, `rater`, `value` (other columns are ignored).
A missing rating is an absent row, or a NaN / blank value (dropped). Values are text (nominal, or
ordinal given `options` in scale order) or numbers. One rating per item and rater.

Entry point (used by the CLI, the queue report and the dashboard)::

    from reviewdesk.agreement import summarize
    s = summarize(labels, level="ordinal", options=["bad", "ok", "good"], gold={"i7": "good"},
                  resamples=1000, seed=0)
    s.krippendorff_alpha.value, s.krippendorff_alpha.ci   # 0.71, (0.66, 0.75)
    s.as_dict()                                           # JSON-ready, the CLI's --json

`summarize(labels, level="nominal", options=None, gold=None, resamples=1000, seed=0, *,
kappa_weights=None, confidence=0.95, left=None, min_shared_items=10) -> AgreementSummary` holds:

- `percent_agreement`, `krippendorff_alpha`, `fleiss_kappa`, `kappa`: each a `Coefficient`
  (`name`, `value` or None with a `note` saying why, `ci` as (low, high), `n_items`, `n_raters`).
  `kappa` is Cohen's kappa for exactly two raters ("cohen_kappa"), else the mean over rater
  pairs ("mean_pairwise_cohen_kappa"). Kappa weights default by level: unweighted for nominal,
  linear for ordinal, quadratic for interval and ratio; they count positions on the scale.
- `pairs`: a `PairAgreement` per two raters sharing `min_shared_items` items or more (agreement,
  kappa and its CI, confusion matrix with rows rater_a's values and columns rater_b's, in `values`
  order); `skipped_pairs` and `pairs_note` count the pairs sharing fewer (MIN_SHARED_ITEMS = 10).
- `raters`: a `RaterAgreement` per rater (agreement with the others on shared items, mean kappa,
  gold accuracy); `gold`: overall `GoldAccuracy` when `gold` (item -> answer) is given.
- `preference`: with `left` (item -> run shown on the left) the values are pairwise preferences
  (run ids or "tie"), measured as left/right/tie; `PositionBias` holds the tie share and the
  left-side rate among decided preferences with its CI. `position_bias(labels, left)` gives it alone,
  e.g. for queues with one reviewer per item.

Pairwise results (ranking): `pair_results(comparisons)` gives wins, ties, losses and the win rate
(a tie as half a win) with a Wilson interval per pair of compared values; `bradley_terry(comparisons,
position=True)` ranks every value with Wald intervals, corrected for the left side's advantage.
Comparisons hold `left`, `right` (the values shown there), `outcome` (left, right or tie), `item`.

Definitions. Percent agreement is Fleiss' P-bar: over items with two or more ratings, the mean share
of agreeing rater pairs. Fleiss' kappa is defined only when every rated item has the same number of
ratings. Krippendorff's alpha (point value from the `krippendorff` package, given item x value
counts) allows missing ratings; ordinal uses the option order. Cohen's kappa (scikit-learn's formula)
is over the items both raters rated. The cost follows the labels, not the raters: nothing is
items x raters or raters x raters, and rater pairs are found from the items.

Intervals: a seeded percentile bootstrap over items (those with two or more ratings), 1,000
resamples by default. Each figure is a sum over items, so resampling is done on counts per item
pattern and costs a matrix product (tables.py, bootstrap.py), not a call per resample.

Rubric clarity: `confused_pairs(ratings)` lists the option pairs reviewers split on (shares of the
disagreements, against chance); `option_agreement(ratings, resamples, seed)` gives each option's
alpha against the rest with a bootstrap CI; `alpha_difference(before, after, resamples, seed)` compares
two independent sets of items (e.g. two rubric versions) with a two-sample bootstrap CI.

Modules: ratings (input checks and encoding), coefficients (formulas), tables and bootstrap (fast
resampling), pairs, raters, preference, summary, ranking (win rates and Bradley-Terry), options
(confused pairs and per-option alpha), comparison (alpha before vs after).
"""

from reviewdesk.agreement.coefficients import Coefficient, fleiss_kappa, krippendorff_alpha, percent_agreement
from reviewdesk.agreement.comparison import AlphaDifference, alpha_difference
from reviewdesk.agreement.options import ConfusedPair, OptionAgreement, confused_pairs, option_agreement
from reviewdesk.agreement.pairs import MIN_SHARED_ITEMS, PairAgreement, RaterPairs, find_pairs, pair_agreements
from reviewdesk.agreement.preference import PositionBias, position_bias, side_coded
from reviewdesk.agreement.ranking import PairResult, Ranking, bradley_terry, pair_results, wilson
from reviewdesk.agreement.raters import GoldAccuracy, RaterAgreement, gold_accuracy, rater_agreements
from reviewdesk.agreement.ratings import LEVELS, LabelsError, Ratings, read_labels
from reviewdesk.agreement.summary import AgreementSummary, summarize

__all__ = [
    "LEVELS",
    "MIN_SHARED_ITEMS",
    "AgreementSummary",
    "AlphaDifference",
    "Coefficient",
    "ConfusedPair",
    "GoldAccuracy",
    "LabelsError",
    "OptionAgreement",
    "PairAgreement",
    "PairResult",
    "PositionBias",
    "Ranking",
    "RaterAgreement",
    "RaterPairs",
    "Ratings",
    "alpha_difference",
    "bradley_terry",
    "confused_pairs",
    "find_pairs",
    "fleiss_kappa",
    "gold_accuracy",
    "krippendorff_alpha",
    "option_agreement",
    "pair_agreements",
    "pair_results",
    "percent_agreement",
    "position_bias",
    "rater_agreements",
    "read_labels",
    "side_coded",
    "summarize",
    "wilson",
]
