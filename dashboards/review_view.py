"""The review tab: the proposals awaiting review, one proposal beside the best so far, approve or reject it.

A decision goes through :meth:`dashboards.data.ReviewData.decide`, the store's compare-and-set transaction: a
decision that lost the race to another reviewer is refused and the page says who decided first.
"""

from __future__ import annotations

import logging
import math

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update

from campaigns.errors import StoreUnavailableError, TrialStateError
from dashboards.data import ReviewData, best_trial, extra_rows, shown_name, to_objective, trial_recipe
from dashboards.layout import CAMPAIGN_ID, STYLE, error_box, log_failure, table
from dashboards.review import (
    compare_recipes,
    fmt_ohm,
    limit_margins,
    model_diagnostics_line,
    model_twin_disagreement,
    nearest_past,
)
from twin import simulate
from twin.display import field_unit, rounded
from twin.errors import InputError

log = logging.getLogger(__name__)

TAB = "tab-review"
PROPOSAL_SELECT = "proposal-select"
"""The proposals awaiting review (radio items); the campaign page's refresh keeps its options current."""
REVIEWER = "reviewer"
COMMENT = "comment"
APPROVE_BTN = "approve-btn"
REJECT_BTN = "reject-btn"
DECISION_MSG = "decision-msg"
"""What became of the last decision; the campaign page's refresh listens to it."""
PROPOSAL_DETAIL = "proposal-detail"
DECISIONS = {APPROVE_BTN: "approve", REJECT_BTN: "reject"}
"""The button that decides, and its decision."""


def review_tab(options: list | None = None, selected=None):
    """The review tab: the proposals (``options``, ``selected`` as the page is drawn), the decision form and the
    selected proposal's view (filled by :func:`register_review`)."""
    return dcc.Tab(label="Review proposals", value="review", id=TAB, children=[
        html.Div(style=STYLE["row"], children=[
            html.Div(style={"minWidth": "230px"}, children=[
                html.H4("Awaiting review"),
                dcc.RadioItems(id=PROPOSAL_SELECT, options=options or [], value=selected,
                               labelStyle={"display": "block", "padding": "2px 0"}),
                html.Hr(),
                html.Label("Reviewer", htmlFor=REVIEWER),
                dcc.Input(id=REVIEWER, type="text", placeholder="your name", debounce=False,
                          style={"width": "100%"}),
                html.Label("Comment", htmlFor=COMMENT),
                dcc.Textarea(id=COMMENT, placeholder="why (required to reject)",
                             style={"width": "100%", "height": "70px"}),
                html.Div(style={"display": "flex", "gap": "8px", "marginTop": "6px"}, children=[
                    html.Button("Approve", id=APPROVE_BTN, n_clicks=0,
                                style={"background": "#2ca02c", "color": "white"}),
                    html.Button("Reject", id=REJECT_BTN, n_clicks=0,
                                style={"background": "#d62728", "color": "white"}),
                ]),
                html.Div(id=DECISION_MSG, style={"marginTop": "8px"}),
            ]),
            html.Div(id=PROPOSAL_DETAIL, style={"flex": "1", "minWidth": "600px"}),
        ]),
    ])


def register_review(app: dash.Dash, data: ReviewData) -> None:
    """Add the review tab's callbacks to ``app``: the selected proposal's view, and approve or reject."""

    @app.callback(Output(PROPOSAL_DETAIL, "children"), Input(PROPOSAL_SELECT, "value"), State(CAMPAIGN_ID, "data"))
    def proposal_detail(trial_id, cid):
        if trial_id is None:
            return html.P("No proposal awaits review.", id="no-proposal")
        try:
            return proposal_view(data, int(cid), int(trial_id))
        except Exception as exc:
            log_failure("proposal view", exc)
            return error_box(exc)

    @app.callback(Output(DECISION_MSG, "children"), Input(APPROVE_BTN, "n_clicks"), Input(REJECT_BTN, "n_clicks"),
                  State(PROPOSAL_SELECT, "value"), State(REVIEWER, "value"), State(COMMENT, "value"),
                  prevent_initial_call=True)
    def decide(_a, _r, trial_id, reviewer, comment):
        decision = DECISIONS.get(ctx.triggered_id)
        if decision is None:
            return no_update
        if trial_id is None:
            return error_box("No proposal selected.")
        try:
            t = data.decide(int(trial_id), decision, reviewer, comment)
        except TrialStateError:
            now = data.trial(int(trial_id))
            return error_box(f"Trial {now.id} was already {now.state} by {now.reviewer or 'someone else'}; "
                             "your decision was not recorded.", "decision-conflict")
        except (InputError, StoreUnavailableError) as exc:  # bad input; a read-only, locked or full store
            return error_box(exc)
        return html.Div(f"Trial {t.id} {t.state} by {t.reviewer}.", className="decision-ok", style=STYLE["ok"])


def proposal_view(data: ReviewData, cid: int, trial_id: int) -> html.Div:
    """The proposal beside the best so far, predictions, margins to limits, nearest past runs."""
    trial = data.trial(trial_id)
    trials = data.trials(cid)
    recipe = trial_recipe(trial)
    if recipe is None:
        return html.Div([html.P(f"Trial {trial.id}: its recipe does not validate: {trial.recipe}",
                                style=STYLE["error"])])
    chamber = data.chamber(cid)
    objective = data.objective(cid)
    best = best_trial(trials, objective)
    best_recipe = trial_recipe(best) if best else None

    extras = data.extra_units(cid)  # the extra variables the tool is asked to set, which the twin does not model
    if best_recipe is not None:
        best_label = f"best, {shown_name(best)}"
        rows = compare_recipes(best_recipe, recipe, best_label, f"proposal, {trial.name}")
        rows += extra_rows(best, trial, best_label, f"proposal, {trial.name}", extras)
        cmp_cols = ["field", best_label, f"proposal, {trial.name}", "diff"]
    else:
        rows = [{"field": f, f"proposal, {trial.name}": rounded(v, field_unit(f))} for f, v in recipe.to_dict().items()]
        rows += [{k: v for k, v in r.items() if k != "diff"} for r in
                 extra_rows(None, trial, "-", f"proposal, {trial.name}", extras)]
        cmp_cols = ["field", f"proposal, {trial.name}"]

    twin = simulate(recipe, chamber, deterministic=True)
    twin_outcome = objective.evaluate(twin.to_dict(), recipe.to_dict())
    disagreement = model_twin_disagreement(trial.predicted_mean, trial.predicted_std, twin_outcome.value,
                                           objective.log)
    diagnostics = model_diagnostics_line(trial.provenance)
    pv, plo, phi = to_objective(trial.predicted_mean, trial.predicted_std, objective.log)
    units = "log10 units" if objective.log else "objective units"
    try:
        chamber.check(recipe)
        limit_note = html.Span("within the tool's limits", className="limits-ok")
    except InputError as exc:
        limit_note = html.Span(f"REFUSED by the tool: {exc}", className="limits-bad", style={"color": "#a00"})

    past = [(t, r) for t in trials if t.id != trial.id and t.result and (r := trial_recipe(t)) is not None]
    near = nearest_past(recipe, [r for _, r in past], k=5, bounds=data.bounds(cid))
    near_rows = [{"trial": shown_name(past[n.index][0]), "distance": round(n.distance, 3),
                  "R_int [Ω·cm²]": _r(past[n.index][0].interface_resistance_ohm_cm2),
                  "state": past[n.index][0].state} for n in near]

    pred = html.Table(id="prediction-table", children=[html.Tbody([
        html.Tr([html.Th(f"predicted {objective.minimize} (strategy's surrogate, at proposal)"),
                 html.Td("–" if not math.isfinite(pv) else f"{pv:.4g} Ω·cm² (±1σ: {plo:.4g} – {phi:.4g})",
                         id="pred-at-proposal")]),
        html.Tr([html.Th("expected improvement"), html.Td(
            "–" if trial.expected_improvement is None else f"{trial.expected_improvement:.4g} ({units})",
            id="pred-ei")]),
        html.Tr([html.Th("chance the run fails (strategy's failure model, at proposal)"), html.Td(
            "– (failures not modelled: failure_penalty is not \"model\")" if trial.predicted_failure is None
            else f"{trial.predicted_failure:.1%}", id="pred-fail")]),
        html.Tr([html.Th("twin's expected outcome (deterministic)"),
                 html.Td(f"R_int {fmt_ohm(twin.interface_resistance_ohm_cm2)}, total "
                         f"{fmt_ohm(twin.total_resistance_ohm_cm2)}, {twin.process_time_s / 3600:.2f} h, "
                         f"short probability {twin.short_probability:.3f}", id="pred-twin")]),
        html.Tr([html.Th("model and twin"), html.Td(
            disagreement or "the twin's expected outcome lies within the model's ±2σ interval",
            id="pred-disagree", style={"color": "#a00", "fontWeight": "bold"} if disagreement else {})]),
        html.Tr([html.Th("the model about itself (at proposal)"), html.Td(
            diagnostics or "– (this strategy does not calibrate the twin)", id="pred-model",
            style={"color": "#a00"} if diagnostics and diagnostics.startswith("STRUCTURAL") else {})]),
        *front_rows(data, cid, trial),
        html.Tr([html.Th("best so far"), html.Td(
            f"{fmt_ohm(best.interface_resistance_ohm_cm2)} ({shown_name(best)})" if best else "none yet",
            id="pred-best")]),
        html.Tr([html.Th("tool limits"), html.Td(limit_note)]),
    ])])
    return html.Div(id="proposal-view", children=[
        html.H3(f"Proposal: {trial.name}", id="proposal-title"),
        pred,
        html.Div(style=STYLE["row"], children=[
            html.Div([html.H4("Recipe beside the best so far"), table(rows, cmp_cols, "proposal-compare")],
                     style={"flex": "1"}),
            html.Div([html.H4("Nearest past runs (normalised distance)"),
                      table(near_rows, ["trial", "distance", "R_int [Ω·cm²]", "state"], "nearest-table")],
                     style={"flex": "1"}),
        ]),
        html.H4("Margins to the tool's limits"),
        margins_table(limit_margins(recipe, chamber)),
    ])


def front_rows(data: ReviewData, cid: int, trial) -> list:
    """Rows of the prediction table for a multi-objective proposal: its predicted position on the front (each
    goal's value and ±1 σ band, P(feasible), the acquisition value, at proposal) and who picked it from the
    front; none for a single objective."""
    cfg = data.config(cid)
    if cfg is None or not cfg.is_multi:
        return []
    from campaigns.front import value_band

    p = trial.prediction or {}
    goals = cfg.objective.goals
    cells = []
    for g, m, s in zip(goals, p.get("mean") or [None] * len(goals), p.get("std") or [None] * len(goals),
                       strict=True):
        v, lo, hi = value_band(g, m, s)
        cells.append(f"{g.field} {v:.4g} {g.unit} (±1σ {lo:.4g} – {hi:.4g})" if math.isfinite(v)
                     else f"{g.field} –")
    pf, acq = p.get("p_feasible"), p.get("acquisition")
    picked = trial.provenance.get("picked_from_front")
    return [
        html.Tr([html.Th("predicted position on the front (at proposal)"),
                 html.Td("; ".join(cells) if p else "– (the strategy has no model of the goals)", id="pred-front")]),
        html.Tr([html.Th("P(feasible), acquisition"), html.Td(
            f"{'–' if pf is None else f'{pf:.1%}'}, {'–' if acq is None else f'{acq:.4g}'}", id="pred-feasible")]),
        html.Tr([html.Th("origin"), html.Td(
            f"picked from the predicted front (K {picked['index']}) by {picked['by']}" if picked
            else f"strategy {trial.provenance.get('strategy', '?')}", id="pred-origin")]),
    ]


def margins_table(margins) -> html.Table:
    """Margins as an HTML table with a bar per field (no plotting library: the review view draws at once).

    The bar is the margin to the nearer limit in % of the allowed range (as :func:`figures_review.margins_figure`
    draws it for reports): red below 5 %, grey outside the limits.
    """
    rows = []
    for m in margins:
        pct = 100.0 * m.fraction
        color = "#7f7f7f" if pct < 0 else "#d62728" if pct < 5 else "#2ca02c"
        bar = html.Div(style={"width": f"{min(max(pct, 0.0), 100.0):.1f}%", "background": color, "height": "12px",
                              "minWidth": "2px"})
        rows.append(html.Tr([
            html.Td(m.field), html.Td(f"{m.value:.4g} {m.unit}"), html.Td(f"[{m.low:.4g}, {m.high:.4g}]"),
            html.Td(f"{pct:.1f} %", className="margin-pct"),
            html.Td(bar, style={"width": "300px", "background": "#f3f3f3"}),
        ], className="margin-row" + ("" if m.ok else " margin-outside")))
    head = html.Tr([html.Th(c) for c in ("field", "value", "allowed", "margin", "")])
    return html.Table([html.Thead(head), html.Tbody(rows)], id="margins-table",
                      style={"fontSize": "13px", "borderSpacing": "8px 2px"})


def _r(v: float) -> float | None:
    return round(v, 3) if math.isfinite(v) else None


__all__ = ["APPROVE_BTN", "COMMENT", "DECISION_MSG", "PROPOSAL_DETAIL", "PROPOSAL_SELECT", "REJECT_BTN", "REVIEWER",
           "margins_table", "proposal_view", "register_review", "review_tab"]
