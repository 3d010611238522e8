"""The runner: closes the loop strategy → tool → store, one transaction per step, resumable at any point.

Each pass of the loop reads the store and does exactly one thing:

1. trials left ``running`` by a runner that died: on a simulated tool the run is repeated in place (it is a pure
   function of the seed, the run index and the recorded chamber state, and its result was never recorded, so
   nothing runs twice in any physical sense; the event log says so); on a real tool the trial is marked
   ``interrupted`` — a person must look at the tool;
2. approved trials run, in order;
3. proposed trials are approved automatically when the tool is simulated and the campaign does not require
   approval; otherwise the runner stops and says what awaits approval;
4. with nothing pending and budget left, the strategy is rebuilt from the store (replaying ``tell`` over every
   finished trial) and proposes the next batch.

Because every decision is taken from the store alone, a runner killed at any moment and started again continues
exactly as an uninterrupted one would. The simulated tool is **stochastic** by default, seeded with the campaign
seed (``[tool] seed`` overrides it): the optimiser sees noisy, measured-like results, as on a real tool, and the
same seed gives the same campaign. Run ``k`` of the campaign is run ``k`` of the tool's random stream, and the tool
starts from the chamber state recorded after run ``k − 1``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

import process_models as pm
from campaigns.config import CampaignConfig, Outcome
from campaigns.context import CONTEXT_EVENT, context_now, tool_state, trial_context
from campaigns.errors import CampaignError
from campaigns.records import TrialEvent, is_imported, runs_used
from campaigns.store import CampaignStore, Trial
from campaigns.strategies import Strategy, context, make_strategy
from campaigns.tool_extras import check_tool_extras, declared_extras, trial_proposal  # noqa: F401 (re-exported)
from campaigns.tool_outcomes import check_tool_outcomes
from twin import Chamber, Recipe, load_tool
from twin.errors import AbortedError, InputError, ToolError

log = logging.getLogger(__name__)

RUNNER = "runner"


def versions() -> dict[str, str]:
    """Versions recorded in every trial's provenance."""
    out = {"model": pm.MODEL_VERSION}
    for pkg in ("sputter-twin", "scikit-optimize", "scikit-learn", "numpy", "simpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


# -- campaigns in a store ------------------------------------------------------------------------------
def open_campaign(store: CampaignStore, config: CampaignConfig, chamber: Chamber, *,
                  seed: int | None = None, tool_chamber: Chamber | None = None) -> int:
    """The id of ``config``'s campaign in ``store``, created on first use.

    ``chamber`` is the campaign's own chamber: the tool limits its space is checked against and the twin
    behind a twin-informed strategy. ``tool_chamber``, if given and different, is the chamber the *simulated*
    tool runs in instead — a "reality" that differs from the twin, to rehearse a campaign on a tool that does
    not match its model (``campaign run --chamber REALITY.toml``).

    A campaign already in the store must have the same file (apart from the budget), chambers and seed;
    otherwise resuming it would not continue the same campaign, and it is refused with a :class:`CampaignError`.
    """
    overrides: dict[str, Any] = {"seed": seed} if seed is not None else {}
    if tool_chamber is not None and tool_chamber != chamber:
        overrides["tool_chamber_toml"] = tool_chamber.to_toml()
    chamber_toml = chamber.to_toml()
    existing = store.find_campaign(config.name)
    if existing is None:
        return store.create_campaign(config.name, config.text, chamber_toml=chamber_toml, overrides=overrides,
                                     actor=RUNNER)
    stored = CampaignConfig.from_text(existing.config_toml, check_limits=False)
    if stored.identity() != config.identity():
        raise CampaignError("campaign.name", config.name, "the store holds a campaign of this name with a different "
                            "campaign file; use another name or another store", source=config.source)
    if existing.chamber_toml is not None and Chamber.from_dict(_toml(existing.chamber_toml)) != chamber:
        raise CampaignError("--chamber", chamber.name, "the campaign was started with a different chamber; resume "
                            "it with the same chamber file", source=str(store.path))
    stored_reality = existing.overrides.get("tool_chamber_toml")
    wanted_reality = overrides.get("tool_chamber_toml")
    if (stored_reality is None) != (wanted_reality is None) or (
            stored_reality is not None and Chamber.from_dict(_toml(stored_reality)) != tool_chamber):
        raise CampaignError("--chamber", getattr(tool_chamber, "name", None), "the campaign's simulated tool was "
                            "started with a different chamber; resume it with the same --chamber",
                            source=str(store.path))
    if seed is not None and existing.overrides.get("seed", stored.seed) != seed:
        raise CampaignError("--seed", seed, "the campaign was started with another seed",
                            str(existing.overrides.get("seed", stored.seed)), source=str(store.path))
    return existing.id


def _toml(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def load_campaign(store: CampaignStore, campaign: int | str) -> tuple[int, CampaignConfig, Chamber]:
    """A stored campaign's id, its configuration (with overrides applied: the seed, and the budget last given to
    ``campaign run --budget``) and its chamber."""
    c = store.campaign(campaign)
    config = CampaignConfig.from_text(c.config_toml, check_limits=False)
    if "seed" in c.overrides:
        config = dataclasses.replace(config, seed=int(c.overrides["seed"]))
    if "budget" in c.overrides:
        config = dataclasses.replace(config, budget=int(c.overrides["budget"]))
    chamber = Chamber.from_dict(_toml(c.chamber_toml)) if c.chamber_toml else Chamber()
    return c.id, config, chamber


def outcomes(config: CampaignConfig, trials: list[Trial]) -> list[tuple[Trial, Outcome]]:
    """Trials that taught the optimiser something, in proposal order, with their outcomes (each with the model's
    own prediction of it from before it ran, where the proposal recorded one: :func:`proposal_prediction`)."""
    out = []
    position: dict[int, int] = {}
    for t in trials:
        k = position[t.batch] = position.get(t.batch, -1) + 1
        o = config.objective.outcome(t)
        if o is not None:
            predicted = proposal_prediction(t, k)
            out.append((t, dataclasses.replace(o, predicted=predicted) if predicted is not None else o))
    return out


def proposal_prediction(trial: Trial, position: int) -> tuple[float, float] | None:
    """The model's own (uncalibrated) mean and standard deviation of ``trial``'s score at proposal time, kept in the
    provenance of its batch (``interval.model``, one pair per recipe in batch order; ``position`` is the trial's
    place in its batch); None for trials proposed before it was kept, imported or picked by hand."""
    rows = (trial.provenance.get("interval") or {}).get("model") if isinstance(trial.provenance, dict) else None
    if not isinstance(rows, list) or not 0 <= position < len(rows):
        return None
    try:
        mean, std = (float(v) for v in rows[position])
    except (TypeError, ValueError):
        return None
    return (mean, std) if math.isfinite(mean) and math.isfinite(std) and std > 0 else None


def pinned_settings(config: CampaignConfig, trials: list[Trial]) -> CampaignConfig:
    """``config`` with the strategy settings its campaign started with: those recorded in the first proposal's
    provenance (defaults resolved), under the settings the file names.

    A newer version of this package may change a default (``gp``'s ``failure_penalty`` became ``"model"``); a
    campaign begun before then goes on as it began instead of switching rules half-way. A setting the current
    version no longer knows is refused when the strategy is built, with the usual one-line error.
    """
    first = next((t for t in trials if t.provenance.get("strategy") == config.strategy), None)
    started = first.provenance.get("settings") if first is not None else None
    if not isinstance(started, dict) or not started:
        return config
    return dataclasses.replace(config, strategy_settings={**started, **config.strategy_settings})


def rebuild_strategy(config: CampaignConfig, chamber: Chamber, trials: list[Trial],
                     events: list[TrialEvent] | None = None) -> Strategy:
    """The campaign's strategy with the settings it started with (:func:`pinned_settings`), told every outcome in
    the store (replay of ``tell``), for the chamber as it is now (:func:`campaigns.context.context_now` of the
    trials and the campaign's ``events``: vents and tool readings; without events, from the trials alone)."""
    config = pinned_settings(config, trials)
    now = context_now(chamber, trials, events or ())
    strategy = make_strategy(config.strategy, context(config, chamber, now))
    told = with_states(chamber, trials, outcomes(config, trials))
    if told:
        strategy.tell([trial_proposal(t) for t, _ in told], [o for _, o in told])
    return strategy


def with_states(chamber: Chamber, trials: list[Trial],
                told: list[tuple[Trial, Outcome]]) -> list[tuple[Trial, Outcome]]:
    """Outcomes with the chamber state each run started in and left behind (from the runs' recorded
    ``chamber_state_after``), so that a strategy can predict a run in the state it ran in.

    An imported past run (:func:`campaigns.records.is_imported`) has no run index: it started in the state its
    context columns give (hours since vent, target and shield kWh), the chamber's ``[state]`` for what they leave
    out, and what it left behind is unknown (None)."""
    after = {t.run_index: t.result.get("chamber_state_after") for t in trials
             if t.run_index is not None and t.result is not None}
    init = {k: float(v) for k, v in dataclasses.asdict(chamber.state).items()
            if k in ("hours_since_vent", "target_kwh", "shield_kwh")}
    out = []
    for t, o in told:
        ctx = trial_context(t)
        if t.run_index is None:
            if is_imported(t):
                from campaigns.importer import context_state

                o = dataclasses.replace(o, state=context_state(t, chamber), state_after=None)
            else:
                state = {k: v for k, v in (ctx or {}).items() if k in init}
                o = dataclasses.replace(o, state=state or None)
            out.append((t, _with_context(o, ctx)))
            continue
        before = after.get(t.run_index - 1) if t.run_index > 0 else init
        if ctx and all(k in ctx for k in init):  # the recorded start state: right across a vent too
            before = {k: ctx[k] for k in init}
        mine = after.get(t.run_index)
        o = dataclasses.replace(o, state=dict(before) if before else None, state_after=dict(mine) if mine else None)
        out.append((t, _with_context(o, ctx)))
    return out


def _with_context(o: Any, ctx: dict[str, float] | None) -> Any:
    """``o`` with the run's context, where its kind of outcome keeps one (several goals' outcomes do not yet)."""
    return dataclasses.replace(o, context=ctx) if any(f.name == "context" for f in dataclasses.fields(o)) else o


def best_trial(config: CampaignConfig, trials: list[Trial]) -> tuple[Trial, Outcome] | None:
    """The successful trial with the lowest objective (the first one on a tie).

    None for a multi-objective campaign: it has no single best but a trade-off, the measured Pareto set
    (:func:`campaigns.front.pareto_set`) and the model's predicted front (:func:`campaigns.front.predicted_front`).
    """
    if config.is_multi:
        return None
    ok = [(t, o) for t, o in outcomes(config, trials) if not o.failed and o.value is not None]
    return min(ok, key=lambda to: to[1].value) if ok else None


def recommended_trial(config: CampaignConfig, chamber: Chamber, trials: list[Trial],
                      strategy: Strategy | None = None,
                      events: list[TrialEvent] | None = None) -> tuple[Trial, float] | None:
    """The successful trial whose recipe the strategy's model rates best, and that rating in the objective's units.

    A strategy that models the chamber's context (``gp`` with ``context``, ``twin-prior``) rates each recipe for the
    chamber *as it is now* (:func:`campaigns.context.context_now` of the trials and ``events``), not as it was when
    the recipe ran.

    The rating is the model's posterior mean at each recipe that was run, so it pools a run with its neighbours:
    with a noisy measurement (the twin's R_int has 5 % noise) the best *measured* run is often a lucky draw of a
    recipe that is merely good, and the more runs a campaign makes near its optimum the likelier that becomes.
    Only recipes actually run are candidates, so the recommendation is always a recipe with a measurement behind
    it. None when the strategy has no model (``random``, ``space-filling``) or fewer than two runs succeeded.
    On the throughput example this pick reached 10 % of the twin's optimum 2–7 runs sooner (median over 10 seeds)
    than the best measured run. ``strategy``, if given, must be :func:`rebuild_strategy` of the same ``trials``
    (a caller that has built it already saves a second fit).

    None for a multi-objective campaign: see :func:`campaigns.front.predicted_front` for what its model rates best.
    """
    if config.is_multi:
        return None
    ok = [(t, o) for t, o in outcomes(config, trials) if not o.failed and o.value is not None]
    if len(ok) < 2:
        return None
    strategy = strategy if strategy is not None else rebuild_strategy(config, chamber, trials, events)
    if not hasattr(strategy, "predict"):
        return None
    # the model's own mean: the calibration's shift is for runs not yet made (see campaigns.intervals)
    mean, _ = getattr(strategy, "model_predictive", strategy.predict)([trial_proposal(t) for t, _ in ok])
    mean = np.asarray(mean, float)
    if not np.isfinite(mean).all():
        return None
    k = int(np.argmin(mean))
    return ok[k][0], float(10.0 ** mean[k] if config.objective.log else mean[k])


def model_summary(trials: list[Trial]) -> str | None:
    """One line on what the latest proposal's model said about itself (a calibrating strategy: the twin's weight,
    the reduced χ² of its best fit, the refitted parameters, and a warning when no parameter set fits the runs),
    or None when no proposal recorded one."""
    latest = next((t for t in reversed(trials) if isinstance(t.provenance.get("model"), dict)
                   and t.provenance["model"]), None)
    intervals = _interval_summary(trials)
    if latest is None:
        return intervals
    m = latest.provenance["model"]
    chi = m.get("reduced_chi2")
    parts = [f"model at trial {latest.id} ({m.get('n_runs', '?')} runs): twin weight {m.get('twin_weight', 1.0):.2f}",
             f"reduced χ² {chi:.2f}" if isinstance(chi, float) else "reduced χ² n/a (too few runs)"]
    fitted = m.get("parameters") or {}
    if fitted:
        parts.append("refitted " + ", ".join(
            f"{k} = {v['value']:.3g} [{v['low95']:.3g}, {v['high95']:.3g}]" for k, v in list(fitted.items())[:4]))
    line = "; ".join(parts)
    if m.get("structural"):
        line += ("\nWARNING structural error: no parameter set of the twin fits the measured runs; the proposals "
                 "lean on the plain GP, not on the twin")
    return line + "\n" + intervals if intervals else line


def _interval_summary(trials: list[Trial]) -> str | None:
    """How the latest proposal's intervals were calibrated on the track record (:mod:`campaigns.intervals`)."""
    latest = next((t for t in reversed(trials) if isinstance(t.provenance.get("interval"), dict)), None)
    if latest is None:
        return None
    cal = latest.provenance["interval"]
    n = int(cal.get("n") or 0)
    if n == 0:
        return f"intervals at trial {latest.id}: the model's own (no earlier proposal measured yet)"
    return (f"intervals at trial {latest.id}: calibrated on {n} earlier proposal(s), ×{float(cal['scale']):.2g} "
            f"the model's σ, shifted {float(cal['bias']):+.2f}σ")


def chamber_before(chamber: Chamber, trials: list[Trial], trial: Trial) -> Chamber:
    """The campaign's chamber in the state it had when ``trial`` ran (after the previous run of the tool)."""
    if trial.run_index is None or trial.run_index == 0:
        return chamber
    prev = [t for t in trials if t.run_index == trial.run_index - 1 and t.result is not None]
    state = prev[0].result.get("chamber_state_after") if prev else None
    return chamber.replace({f"state.{k}": float(v) for k, v in state.items()}) if state else chamber


def provenance(config: CampaignConfig, strategy: Strategy, tool_name: str, n_told: int) -> dict[str, Any]:
    """What a proposal came from: strategy and settings, seed, versions, tool; and what the strategy's model says
    about itself (``model``: a calibrating strategy's fitted parameters, reduced χ², structural-error flag)."""
    prov = {"strategy": config.strategy, "settings": dict(getattr(strategy, "settings", {})), "seed": config.seed,
            "batch_size": config.batch_size, "observations": n_told, "versions": versions(),
            "tool": tool_name, "tool_type": config.tool.get("type", "simulated")}
    diagnostics = getattr(strategy, "diagnostics", None)
    if callable(diagnostics):
        prov["model"] = _plain_json(diagnostics())
    return prov


def _plain_json(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy numbers as Python ones (the store keeps strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value) if not isinstance(value, int | np.integer) else int(value)
        return v if not isinstance(v, float) or math.isfinite(v) else None
    return str(value)


def propose(store: CampaignStore, campaign_id: int, config: CampaignConfig, chamber: Chamber, n: int | None = None,
            *, tool_name: str = "", actor: str = "strategy") -> list[int]:
    """Ask the strategy for a batch (``n``, default the batch size) and add it to the store as ``proposed``.

    Refused while trials are pending (proposed, approved, running or awaiting measurement): the strategy
    proposes from finished trials only, so that proposals never depend on what is still in flight.
    """
    trials = store.trials(campaign_id)
    pending = [t for t in trials if t.state in ("proposed", "approved", "running", "awaiting_measurement")]
    if pending:
        raise CampaignError("campaign", config.name, f"{len(pending)} trial(s) pending "
                            f"({', '.join(sorted({t.state for t in pending}))}); approve, reject, run or measure them "
                            "first", source=str(store.path))
    n = config.batch_size if n is None else n
    if n < 1:
        raise CampaignError("--n", n, "must be at least 1", ">= 1")
    events = store.events(campaign_id)
    strategy = rebuild_strategy(config, chamber, trials, events)
    recipes = strategy.ask(n)
    prov = provenance(config, strategy, tool_name or config.tool.get("type", "simulated"),
                      len(outcomes(config, trials)))
    prov["context_now"] = context_now(chamber, trials, events)
    if hasattr(strategy, "model_predictive"):  # the track record that calibrates later intervals
        own_mean, own_std = strategy.model_predictive(recipes)
        prov["interval"] = _plain_json({**strategy.interval_calibration().to_dict(),
                                        "model": [[m, s] for m, s in zip(own_mean, own_std, strict=True)]})
    if config.is_multi:  # a vector prediction per recipe: its predicted position on the front
        from campaigns.front import vector_predictions

        return store.add_proposals(campaign_id, recipes, provenance=prov, actor=actor, expect_count=len(trials),
                                   vector_predictions=vector_predictions(strategy, recipes, config))
    preds = _predictions(strategy, recipes)
    return store.add_proposals(campaign_id, recipes, provenance=prov, predictions=preds, actor=actor,
                               expect_count=len(trials))


def _predictions(strategy: Strategy, recipes: list[Recipe]) -> list[tuple[float | None, ...]]:
    """(mean, std, EI, P(failure)) per recipe at proposal time; None or NaN where the strategy has no such
    prediction (NaN is stored as NULL)."""
    nan = [math.nan] * len(recipes)
    if not hasattr(strategy, "predict"):
        return [(None, None, None, None)] * len(recipes)
    mean, std = strategy.predict(recipes)
    ei = strategy.expected_improvement(recipes) if hasattr(strategy, "expected_improvement") else nan
    p_fail = strategy.failure_probability(recipes) if hasattr(strategy, "failure_probability") else nan
    return [(float(m), float(s), float(e), float(f)) for m, s, e, f in zip(mean, std, ei, p_fail, strict=True)]


# -- the runner ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    """How a runner pass ended: ``status`` is ``budget_spent``, ``awaiting_approval``, ``awaiting_measurement``
    or ``stopped`` (``max_runs`` reached); ``runs`` counts runs executed in this pass, ``used`` the runs of the
    budget used so far (imported past runs are not counted: :func:`campaigns.records.runs_used`)."""

    status: str
    runs: int
    used: int
    budget: int
    best: tuple[Trial, Outcome] | None


class Runner:
    """Runs a stored campaign on its tool until the budget is spent or people must act.

    Parameters
    ----------
    store : CampaignStore
    campaign : int or str
        Campaign id or name in ``store`` (see :func:`open_campaign`).
    budget : int, optional
        Total runs (overrides the campaign file's budget; at least 1).
    progress : bool
        Show a tqdm progress bar on standard error.
    max_runs : int, optional
        Stop after this many runs in this pass (tests and step-by-step use).
    """

    def __init__(self, store: CampaignStore, campaign: int | str, *, budget: int | None = None,
                 progress: bool = False, max_runs: int | None = None) -> None:
        self.store = store
        self.campaign_id, self.config, self.chamber = load_campaign(store, campaign)
        reality = store.campaign(self.campaign_id).overrides.get("tool_chamber_toml")
        self.tool_chamber = Chamber.from_dict(_toml(reality)) if reality else self.chamber
        """The chamber a simulated tool runs in: the campaign's own unless a reality was given."""
        if budget is not None and budget < 1:
            raise CampaignError("--budget", budget, "budget must be at least one run", ">= 1")
        self.budget = self.config.budget if budget is None else budget
        self.progress = progress
        self.max_runs = max_runs
        self.tool: Any = None

    # -- the tool ---------------------------------------------------------------------------------------
    def _tool_config(self) -> dict[str, Any]:
        cfg = dict(self.config.tool)
        if cfg.get("type", "simulated") == "simulated":
            cfg.setdefault("seed", self.config.seed)
        return cfg

    def _make_tool(self, trials: list[Trial]) -> Any:
        """The tool, positioned after the last recorded run (run index and chamber state)."""
        cfg = self._tool_config()
        cls = load_tool(cfg.get("type", "simulated"))
        ran = sorted((t for t in trials if t.result is not None and t.run_index is not None),
                     key=lambda t: t.run_index)
        chamber = self.tool_chamber
        state = ran[-1].result.get("chamber_state_after") if ran else None
        if state:
            chamber = chamber.replace({f"state.{k}": float(v) for k, v in state.items()})
        # vents logged since the last run (sputter-twin tool vent) and runs since the vent, from the store
        now_state, runs_since_vent = tool_state(context_now(chamber, trials, self.store.events(self.campaign_id)))
        if now_state and "type" in cfg and cfg["type"] != "simulated":
            now_state = {}  # a real tool's state is its own; only a simulated one is positioned from the store
        if now_state:
            chamber = chamber.replace({f"state.{k}": v for k, v in now_state.items()})
        tool = cls.from_config(cfg, chamber)
        if hasattr(tool, "run_index"):
            tool.run_index = ran[-1].run_index + 1 if ran else 0
        if hasattr(tool, "runs_since_vent"):
            tool.runs_since_vent = runs_since_vent
        return tool

    @property
    def needs_approval(self) -> bool:
        return bool(self.config.require_approval or getattr(self.tool, "is_real", True))

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        """Run until the budget is spent, people must act, or ``max_runs``; returns how it ended."""
        with self.store.runner_lock(self.campaign_id):
            return self._loop()

    def _loop(self) -> RunSummary:
        from tqdm import tqdm

        trials = self.store.trials(self.campaign_id)
        self.tool = self._make_tool(trials)
        check_tool_extras(self.config, self.tool)
        check_tool_outcomes(self.config, self.tool)
        used = runs_used(trials)
        runs = 0
        bar = tqdm(total=self.budget, initial=min(used, self.budget), desc=self.config.name, unit="run",
                   file=sys.stderr, disable=not self.progress, leave=False)
        try:
            while True:
                trials = self.store.trials(self.campaign_id)
                used = runs_used(trials)
                by_state: dict[str, list[Trial]] = {}
                for t in trials:
                    by_state.setdefault(t.state, []).append(t)
                if self.max_runs is not None and runs >= self.max_runs:
                    return self._summary("stopped", runs, used, trials)
                if by_state.get("running"):
                    self._recover(by_state["running"][0])
                    runs += 1
                    bar.update(1)
                    continue
                if by_state.get("approved"):
                    self._execute(by_state["approved"][0])
                    runs += 1
                    bar.update(1)
                    continue
                if by_state.get("proposed"):
                    if self.needs_approval:
                        return self._summary("awaiting_approval", runs, used, trials)
                    t = by_state["proposed"][0]
                    self.store.approve(t.id, RUNNER, "auto-approved: simulated tool, require_approval = false")
                    continue
                if by_state.get("awaiting_measurement"):
                    return self._summary("awaiting_measurement", runs, used, trials)
                if used >= self.budget:
                    return self._summary("budget_spent", runs, used, trials)
                n = min(self.config.batch_size, self.budget - used)
                self._read_context()
                propose(self.store, self.campaign_id, self.config, self.chamber, n, tool_name=self.tool.name)
        finally:
            bar.close()

    def _read_context(self) -> None:
        """A real tool that reports its context (readbacks through its mapping) is read before each proposal, and
        the reading logged as a campaign event, so the proposal is made for the chamber as it is (and a resumed
        runner sees the same reading). A simulated tool's context follows from the store."""
        if getattr(self.tool, "is_real", False) and callable(getattr(self.tool, "context", None)):
            reading = self.tool.context()
            if reading:
                self.store.log_event(None, CONTEXT_EVENT, {"context": dict(reading), "tool": self.tool.name},
                                     actor=RUNNER, campaign_id=self.campaign_id)

    def _summary(self, status: str, runs: int, used: int, trials: list[Trial]) -> RunSummary:
        return RunSummary(status, runs, used, self.budget, best_trial(self.config, trials))

    def _recover(self, trial: Trial) -> None:
        """A trial left ``running`` by a runner that died."""
        if getattr(self.tool, "is_real", True):
            self.store.mark_interrupted(trial.id, "the runner stopped during the run; check the tool and the "
                                        "sample before proposing it again", actor=RUNNER)
            return
        self.store.log_event(trial.id, "rerun_after_crash", {
            "note": "simulated run repeated in place: its result was never recorded, and the run is a pure function "
                    "of seed, run index and recorded chamber state", "run_index": trial.run_index}, actor=RUNNER)
        if hasattr(self.tool, "run_index") and trial.run_index is not None:
            self.tool.run_index = trial.run_index
        with self._no_run_left_running(trial):
            self._run_on_tool(trial, Recipe.from_dict(trial.recipe), trial.extras)

    def _execute(self, trial: Trial) -> None:
        recipe = Recipe.from_dict(trial.recipe)
        try:
            self.tool.check(recipe)
        except InputError as exc:
            self.store.mark_failed(trial.id, f"refused by the tool's dry check: {exc}", actor=RUNNER)
            return
        with self._no_run_left_running(trial):
            self.store.mark_running(trial.id, getattr(self.tool, "run_index", None), actor=RUNNER,
                                    tool=self.tool.name)
            self._run_on_tool(trial, recipe, trial.extras)

    @contextlib.contextmanager
    def _no_run_left_running(self, trial: Trial) -> Iterator[None]:
        """Ctrl-C at any moment of a trial's run leaves it ``interrupted``, never ``running``: also just after
        ``mark_running`` or while a finished run's result is being recorded, not only inside ``tool.run`` (where
        :meth:`_run_on_tool` keeps the run's telemetry as well)."""
        try:
            yield
        except KeyboardInterrupt:
            if self.store.trial(trial.id).state == "running":
                self.store.mark_interrupted(trial.id, "interrupted by the user (Ctrl-C)", actor=RUNNER)
            raise

    def _log_commands(self, trial: Trial, commands: list | None) -> None:
        """Every command a tool sent, as events of the trial (queryable beside its state changes)."""
        for command in commands or ():
            self.store.log_event(trial.id, "command", command if isinstance(command, dict) else str(command),
                                 actor=RUNNER)

    def _run_on_tool(self, trial: Trial, recipe: Recipe, extras: dict[str, Any] | None = None) -> None:
        if hasattr(self.tool, "run_id"):  # a tool that takes jobs starts this one under the trial's id
            self.tool.run_id = f"{self.config.name}-trial-{trial.id}"
        if extras:
            # what the tool was asked to set beside the recipe, and whether the twin models it (it does not)
            self.store.log_event(trial.id, "extras", {"extras": dict(extras), "tool": self.tool.name,
                                                      "modelled_by_twin": False}, actor=RUNNER)
        run_context = self.tool.context() if callable(getattr(self.tool, "context", None)) else None
        try:
            result = self.tool.run(recipe, extras=dict(extras)) if extras else self.tool.run(recipe)
        except KeyboardInterrupt as exc:
            # An adapter that stopped the run itself passes Ctrl-C on carrying what the run left (telemetry,
            # commands sent, whether its safe state was confirmed: hardware.errors.RunInterrupted, read by attribute
            # so that campaigns never import hardware). A tool whose safe state is not confirmed is aborted first;
            # what the run left is kept even if that abort fails.
            try:
                if getattr(exc, "safe_state_written", None) is not True:
                    self.tool.abort()
            finally:
                self._log_commands(trial, getattr(exc, "command_log", None))
                self.store.mark_interrupted(trial.id, "interrupted by the user (Ctrl-C)",
                                            getattr(exc, "telemetry", None), actor=RUNNER)
            raise
        except AbortedError as exc:  # keep what the tool recorded up to the stop: telemetry and commands sent
            self._log_commands(trial, getattr(exc, "command_log", None))
            self.store.mark_interrupted(trial.id, f"aborted: {exc}", getattr(exc, "telemetry", None), actor=RUNNER)
            raise
        except ToolError as exc:
            self._log_commands(trial, getattr(exc, "command_log", None))
            self.store.mark_failed(trial.id, f"tool failure: {exc}", actor=RUNNER)
            raise
        if result.telemetry is not None:
            self._log_commands(trial, result.telemetry.attrs.get("command_log"))
        rd = result.to_dict()
        if run_context:
            rd["context"] = dict(run_context)  # the chamber state the run started in (campaigns.context)
        outcome = self.config.objective.evaluate(rd, trial.recipe)
        if rd.get("interface_resistance_ohm_cm2") is None and not rd.get("shorted"):
            state, reason = "awaiting_measurement", "the tool cannot measure the interface resistance"
        else:
            state, reason = ("failed", outcome.reason) if outcome.failed else ("done", "")
        self.store.record_result(trial.id, rd, state, actor=RUNNER, reason=reason, telemetry=result.telemetry)
        self.store.checkpoint()  # one run's changes into the database file: the write-ahead log stays small
        if reason:
            log.info("trial %d (%s): %s", trial.id, state, reason)
        else:
            log.info("trial %d (%s): %s", trial.id, state, f"goals {outcome.values}" if self.config.is_multi
                     else f"objective {outcome.value:.4g}")
