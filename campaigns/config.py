"""Campaign files (TOML) and the objective.

A campaign file::

    [campaign]
    name = "lipon-interface"
    budget = 30            # runs on the tool (trials that reach the tool: done, failed, awaiting measurement)
    batch_size = 1         # recipes proposed at a time (constant liar for more than one)
    seed = 7               # seeds the strategy and, unless [tool] sets its own, the simulated tool

    [objective]
    minimize = "interface_resistance_ohm_cm2"   # or total_resistance_ohm_cm2, bulk_resistance_ohm_cm2
    log = true                                  # the optimiser models log10 of the objective
    secondary = "process_time_s"                # optional second objective, added with a weight:
    secondary_weight = 0.0                      # objective = primary + weight * secondary

    [constraints]
    max_process_time_h = 48.0      # longer runs count as failed
    thickness_tolerance = 0.10     # |thickness − target| / target above this counts as failed
                                   # (shorted cells always count as failed runs)
    [strategy]
    name = "gp"                    # gp | random | space-filling | (plug-ins such as twin-prior)
    # ...settings of that strategy (see campaigns.strategies)

    [space]                        # see campaigns.space
    [space.extra.substrate_bias_v] # optional: a tool setting the twin does not model (campaigns.variables)
    low = -100.0
    high = 0.0
    unit = "V"
    [fixed]
    [tool]
    type = "simulated"             # a name in the sputter_twin.tools entry-point group
    require_approval = false       # a real tool always requires approval

The objective uses the *measured* result of each run (noisy, in stochastic mode), as a real campaign would.

**Several objectives** (:mod:`campaigns.objectives`): instead of ``[objective]``, one ``[[objectives]]`` table per
goal, and optional outcome constraints beside the hard failure rules::

    reference_point = [60.0, 28800.0, 1e-7]  # optional, top level (before any table): one component per goal,
                                             # in the goals' units (or give each goal its own `reference`)
    [[objectives]]
    field = "interface_resistance_ohm_cm2"   # a result field (campaigns.objectives.RESULT_FIELDS)
    direction = "minimize"                   # or "maximize"
    log = true                               # model log10 (fields that are always positive)
    reference = 60.0                         # optional reference-point component [the field's unit]
    [[objectives]]
    field = "process_time_s"
    [constraints]
    outcomes = ["interface_resistance_ohm_cm2 <= 30"]   # "FIELD <= NUMBER" or "FIELD >= NUMBER"

``[objective]`` and ``[[objectives]]`` are exclusive; two goals at least, each field once; a multi-objective
campaign needs a strategy that handles several objectives (:data:`MULTI_OBJECTIVE_STRATEGIES`).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaigns.errors import CampaignError
from campaigns.space import SearchSpace
from twin import Chamber
from twin.config import coerce, read_toml
from twin.errors import InputError

if TYPE_CHECKING:
    from campaigns.objectives import MultiObjective

PRIMARY_OBJECTIVES = ("interface_resistance_ohm_cm2", "total_resistance_ohm_cm2", "bulk_resistance_ohm_cm2")
SECONDARY_OBJECTIVES = ("process_time_s", "deposition_time_s", "plasma_time_s", "bulk_resistance_ohm_cm2",
                        "damaged_layer_nm", "interface_contamination_ml")
MULTI_OBJECTIVE_STRATEGIES = ("mobo", "twin-mobo", "random", "space-filling")
"""Strategies that accept a campaign with ``[[objectives]]`` (the others optimise one scalar objective)."""


@dataclass(frozen=True)
class Outcome:
    """What the optimiser learns from one trial.

    ``value`` is the objective in its own units (None if the run failed or was not measured), ``score`` what the
    optimiser minimises (``log10(value)`` with a log objective); ``failed`` runs carry the ``reason``.
    """

    value: float | None
    score: float | None
    failed: bool
    reason: str = ""
    state: dict[str, float] | None = None
    """Chamber state the run started in (hours since vent, target and shield kWh), when known."""
    state_after: dict[str, float] | None = None
    """Chamber state the run left behind (the next run starts in it), when known."""
    context: dict[str, float] | None = None
    """The run's context (:mod:`campaigns.context`: the chamber state it started in, as recorded), when known."""
    predicted: tuple[float, float] | None = None
    """The model's own (uncalibrated) mean and standard deviation of this run's score, from before it ran, when
    known: the track record that calibrates later intervals (:mod:`campaigns.intervals`)."""


@dataclass(frozen=True)
class Objective:
    """The objective and the constraints that decide whether a run failed."""

    minimize: str = "interface_resistance_ohm_cm2"
    log: bool = True
    secondary: str = ""
    secondary_weight: float = 0.0
    max_process_time_h: float = math.inf
    thickness_tolerance: float = math.inf

    def evaluate(self, result: dict[str, Any], recipe: dict[str, Any] | None = None) -> Outcome:
        """Outcome of a run's result dict (:meth:`twin.RunResult.to_dict`)."""
        if result.get("shorted"):
            return Outcome(None, None, True, "shorted cell")
        pt = result.get("process_time_s")
        if pt is not None and pt > self.max_process_time_h * 3600.0:
            return Outcome(None, None, True, f"process time {pt / 3600:.1f} h > {self.max_process_time_h:g} h")
        recipe = recipe or result.get("recipe") or {}
        thick, target = result.get("thickness_nm"), recipe.get("target_thickness_nm")
        if thick is not None and target and abs(thick - target) / target > self.thickness_tolerance:
            return Outcome(None, None, True, f"thickness {thick:.1f} nm off target {target:g} nm")
        primary = result.get(self.minimize)
        if primary is None or not math.isfinite(primary):
            return Outcome(None, None, True, f"no {self.minimize}")
        value = float(primary)
        if self.secondary and self.secondary_weight:
            sec = result.get(self.secondary)
            if sec is None:
                return Outcome(None, None, True, f"no {self.secondary}")
            value += self.secondary_weight * float(sec)
        if self.log and value <= 0:
            return Outcome(value, None, True, "objective not positive, cannot take its log")
        return Outcome(value, math.log10(value) if self.log else value, False)

    def outcome(self, trial: Any) -> Outcome | None:
        """Outcome of a stored trial, or None if it has none yet (pending, interrupted, awaiting measurement).

        A rejected trial counts as a failed run: the reviewer does not want that recipe, and telling the
        optimiser so keeps it from proposing the same recipe again.
        """
        if trial.state == "rejected":
            return Outcome(None, None, True, "rejected by reviewer")
        if trial.state == "failed":
            base = self.evaluate(trial.result, trial.recipe) if trial.result else None
            reason = base.reason if base is not None and base.failed else "tool failure"
            return Outcome(None, None, True, reason)
        if trial.state == "done" and trial.result is not None:
            return self.evaluate(trial.result, trial.recipe)
        return None


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    t = doc.get(name, {})
    if not isinstance(t, dict):
        raise CampaignError(name, t, "expected a table")
    return t


def _keys(table: dict[str, Any], prefix: str, allowed: dict[str, Any]) -> dict[str, Any]:
    """Check keys and types of a small table against ``allowed`` (name → type)."""
    out = {}
    for k, v in table.items():
        if k not in allowed:
            raise CampaignError(f"{prefix}.{k}", v, "unknown key", ", ".join(allowed))
        try:
            out[k] = coerce(v, allowed[k], f"{prefix}.{k}", CampaignError)
        except InputError as exc:
            raise CampaignError(exc.field, exc.value, exc.problem, exc.allowed) from None
    return out


@dataclass(frozen=True)
class CampaignConfig:
    """A parsed, checked campaign file."""

    name: str
    space: SearchSpace
    budget: int = 30
    batch_size: int = 1
    seed: int = 0
    objective: Objective | MultiObjective = field(default_factory=Objective)
    strategy: str = "gp"
    strategy_settings: dict[str, Any] = field(default_factory=dict)
    tool: dict[str, Any] = field(default_factory=lambda: {"type": "simulated"})
    require_approval: bool = False
    text: str = ""
    source: str = ""

    @classmethod
    def from_toml(cls, path: str | Path, chamber: Chamber | None = None) -> CampaignConfig:
        """Read and check a campaign file; any problem is a :class:`CampaignError` naming the file."""
        read_toml(path, CampaignError)
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_text(text, source=str(path), chamber=chamber)

    @classmethod
    def from_text(cls, text: str, source: str = "", chamber: Chamber | None = None, *,
                  check_limits: bool = True) -> CampaignConfig:
        """Parse campaign TOML text (``check_limits=False`` skips the tool-limit check of the bounds)."""
        try:
            try:
                doc = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise CampaignError("", "", f"malformed TOML: {exc}") from None
            return cls._from_doc(doc, text, source, chamber, check_limits)
        except InputError as exc:
            err = exc if isinstance(exc, CampaignError) else CampaignError(exc.field, exc.value, exc.problem,
                                                                           exc.allowed)
            raise err.with_source(source) if source else err from None

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], text: str, source: str, chamber: Chamber | None,
                  check_limits: bool) -> CampaignConfig:
        from campaigns.strategies import strategy_names

        tables = ("campaign", "objective", "objectives", "constraints", "strategy", "space", "fixed", "tool")
        unknown = sorted(set(doc) - set(tables) - {"reference_point"})
        if unknown:
            raise CampaignError(unknown[0], "...", "unknown table or key",
                                ", ".join(f"[{t}]" for t in tables) + ", reference_point")
        camp = _keys(_table(doc, "campaign"), "campaign",
                     {"name": str, "description": str, "budget": int, "batch_size": int, "seed": int})
        if not camp.get("name", "").strip():
            raise CampaignError("campaign.name", camp.get("name"), "the campaign needs a name")
        budget = camp.get("budget", 30)
        if budget < 1:
            raise CampaignError("campaign.budget", budget, "budget must be at least one run", ">= 1")
        batch = camp.get("batch_size", 1)
        if not 1 <= batch <= 64:
            raise CampaignError("campaign.batch_size", batch, "out of range", "[1, 64]")
        seed = camp.get("seed", 0)
        if seed < 0:
            raise CampaignError("campaign.seed", seed, "must not be negative", ">= 0")
        obj = _keys(_table(doc, "objective"), "objective",
                    {"minimize": str, "log": bool, "secondary": str, "secondary_weight": float})
        if obj.get("minimize", PRIMARY_OBJECTIVES[0]) not in PRIMARY_OBJECTIVES:
            raise CampaignError("objective.minimize", obj["minimize"], "unknown objective",
                                " | ".join(PRIMARY_OBJECTIVES))
        if obj.get("secondary", "") not in ("", *SECONDARY_OBJECTIVES):
            raise CampaignError("objective.secondary", obj["secondary"], "unknown objective",
                                " | ".join(SECONDARY_OBJECTIVES))
        if obj.get("secondary_weight", 0.0) < 0:
            raise CampaignError("objective.secondary_weight", obj["secondary_weight"], "must not be negative",
                                ">= 0")
        cons_table = dict(_table(doc, "constraints"))
        outcomes = cons_table.pop("outcomes", None)
        cons = _keys(cons_table, "constraints", {"max_process_time_h": float, "thickness_tolerance": float})
        for k, v in cons.items():
            if v <= 0:
                raise CampaignError(f"constraints.{k}", v, "must be positive", "> 0")
        objective: Objective | MultiObjective = Objective(**obj, **cons)
        if "objectives" in doc:
            if "objective" in doc:
                raise CampaignError("objectives", "[objective] and [[objectives]]", "a campaign has one objective "
                                    "or several goals, not both", "[objective] | [[objectives]]")
            from campaigns.config_objectives import multi_objective

            objective = multi_objective(doc["objectives"], doc.get("reference_point"), outcomes, Objective(**cons))
        elif outcomes is not None or "reference_point" in doc:
            what = "constraints.outcomes" if outcomes is not None else "reference_point"
            raise CampaignError(what, outcomes if outcomes is not None else doc["reference_point"],
                                "only a campaign with several goals ([[objectives]]) takes this", "[[objectives]]")
        strat = dict(_table(doc, "strategy"))
        name = strat.pop("name", "gp")
        if name not in strategy_names():
            raise CampaignError("strategy.name", name, "unknown strategy", " | ".join(strategy_names()))
        multi = [n for n in MULTI_OBJECTIVE_STRATEGIES if n in strategy_names()]
        if isinstance(objective, Objective) and name in MULTI_OBJECTIVE_STRATEGIES[:2]:
            single = [n for n in strategy_names() if n not in MULTI_OBJECTIVE_STRATEGIES[:2]]
            raise CampaignError("strategy.name", name, "a multi-objective strategy needs [[objectives]] (several "
                                "goals)", " | ".join(single))
        if not isinstance(objective, Objective) and name not in multi:
            raise CampaignError("strategy.name", name, "this strategy optimises one objective; a campaign with "
                                "[[objectives]] needs a multi-objective one", " | ".join(multi))
        tool = dict(_table(doc, "tool"))
        kind = tool.setdefault("type", "simulated")
        if not isinstance(kind, str) or not kind:
            raise CampaignError("tool.type", kind, "expected a tool name")
        approval = tool.get("require_approval", False)
        if not isinstance(approval, bool):
            raise CampaignError("tool.require_approval", approval, "expected true or false")
        space = SearchSpace.from_tables(doc.get("space"), doc.get("fixed"), chamber, check_limits=check_limits)
        cfg = cls(name=camp["name"], space=space, budget=budget, batch_size=batch, seed=seed,
                  objective=objective, strategy=name, strategy_settings=strat, tool=tool,
                  require_approval=approval, text=text, source=source)
        from campaigns.strategies import check_settings

        check_settings(cfg)
        return cfg

    @property
    def is_multi(self) -> bool:
        """True for a campaign with several goals (``[[objectives]]``: :class:`campaigns.objectives.MultiObjective`)."""
        return not isinstance(self.objective, Objective)

    def identity(self) -> dict[str, Any]:
        """What must not change when a campaign is resumed (everything but the budget)."""
        doc = tomllib.loads(self.text)
        doc.get("campaign", {}).pop("budget", None)
        doc.get("campaign", {}).pop("description", None)
        return doc
