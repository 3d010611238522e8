"""The review app (Dash): campaigns, proposals awaiting review, history, charts, a run's telemetry and events.

``create_app(store_path)`` returns a :class:`dash.Dash` app; serve its ``.server`` with
:func:`dashboards.serve.start` (tests) or :func:`dashboards.serve.serve_forever` (``sputter-twin dashboard``).
Pages: ``/`` lists the campaigns, ``/campaign/<id or name>`` is one campaign (review, measurement entry, history,
charts...). A ``dcc.Interval`` refreshes the page while a campaign runs; a figure is rebuilt only when the
campaign's trials changed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from pathlib import Path
from urllib.parse import unquote

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from campaigns.errors import TrialStateError
from campaigns.runner import chamber_before
from dashboards import figures
from dashboards import figures_review as fr
from dashboards.data import (
    AWAITING_REVIEW,
    ReviewData,
    best_trial,
    history_rows,
    open_store,
    to_objective,
    trial_label,
    trial_recipe,
)
from dashboards.errors import DashboardError
from dashboards.layout import STYLE, campaign_page, error_page, home_page, shell, table
from dashboards.measure_view import register_measure
from dashboards.review import compare_recipes, fmt_ohm, limit_margins, nearest_past
from dashboards.serve import require_token
from twin import Chamber, Recipe, simulate
from twin.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_REFRESH_MS = 2000
CAMPAIGN_PREFIX = "/campaign/"


def create_app(store_path: str | Path, *, token: str | None = None, chamber: Chamber | None = None,
               refresh_ms: int = DEFAULT_REFRESH_MS) -> dash.Dash:
    """Build the review app on an existing campaign store.

    Parameters
    ----------
    store_path : str or Path
        The campaign store (SQLite). It must exist; the app never creates one.
    token : str, optional
        If given, every request must carry it (see :mod:`dashboards.serve`).
    chamber : Chamber, optional
        The tool for the twin's predictions and the limit margins (default: the built-in chamber).
    refresh_ms : int
        How often the page polls the store [ms].

    Raises
    ------
    DashboardError, campaigns.errors.StoreError
        The store is missing or is not a campaign store.
    """
    data = ReviewData(open_store(store_path), chamber)
    app = dash.Dash(__name__, title="sputter-twin review", suppress_callback_exceptions=True,
                    update_title=None, serve_locally=True)
    if token:
        require_token(app.server, token)
    app.layout = shell(refresh_ms)
    _register(app, data, Path(store_path).name)
    register_measure(app, data)
    app._sputter_twin_data = data  # for tests and the CLI: the store the app reads
    return app


def _version(trials) -> str:
    """A digest of what the figures show, so an unchanged campaign is not redrawn on every tick."""
    h = hashlib.sha1(usedforsecurity=False)
    for t in trials:
        h.update(f"{t.id}:{t.state}:{t.interface_resistance_ohm_cm2}|".encode())
    return h.hexdigest()


def _campaign_key(pathname: str | None) -> str | None:
    if pathname and pathname.startswith(CAMPAIGN_PREFIX):
        return unquote(pathname[len(CAMPAIGN_PREFIX):].strip("/"))
    return None


def _err(exc: Exception) -> html.Div:
    return html.Div(str(exc), className="error", style=STYLE["error"])


def _guarded(func):
    """Keep a view as it is if reading the store fails (logged); the header, refreshed on every tick, shows the
    error in the page."""

    @functools.wraps(func)
    def wrapper(*args):
        try:
            return func(*args)
        except Exception as exc:
            log.exception("%s: %s", func.__name__, exc)
            raise PreventUpdate from None

    return wrapper


def _register(app: dash.Dash, data: ReviewData, store_name: str) -> None:  # noqa: C901 - one callback per view
    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def render(pathname):
        key = _campaign_key(pathname)
        if pathname in (None, "", "/"):
            return home_page(store_name)
        if key is None:
            return error_page(f"No page at {pathname!r}: open / for the campaigns or /campaign/<id>.")
        try:
            cid = data.resolve(key)
        except InputError as exc:
            return error_page(str(exc))
        header, options, ids, version = _campaign_state(data, cid)
        # the first state is drawn with the page itself: one round trip fewer before the proposal view
        return campaign_page(str(cid), header, options, ids[0] if ids else None, version)

    @app.callback(Output("campaign-list", "children"), Input("refresh", "n_intervals"))
    def campaign_list(_n):
        try:
            rows = data.campaign_summaries()
        except Exception as exc:  # the store went away while the page was open: say so in the page
            log.exception("reading the store")
            return _err(exc)
        if not rows:
            return html.P("This store holds no campaigns yet.")
        head = html.Tr([html.Th(c) for c in ("campaign", "trials", "awaiting review", "done", "best R_int")])
        body = [html.Tr([
            html.Td(dcc.Link(f"{s.id}: {s.name}", href=f"{CAMPAIGN_PREFIX}{s.id}", id=f"campaign-link-{s.id}")),
            html.Td(s.n_trials), html.Td(s.n_proposed, className="n-proposed"), html.Td(s.n_done),
            html.Td(fmt_ohm(s.best_r_int)),
        ]) for s in rows]
        return html.Table([html.Thead(head), html.Tbody(body)], id="campaign-table",
                          style={"borderSpacing": "12px 4px"})

    @app.callback(Output("campaign-header", "children"), Output("proposal-select", "options"),
                  Output("proposal-select", "value"), Output("data-version", "data"),
                  Input("refresh", "n_intervals"), Input("decision-msg", "children"),
                  Input("measure-msg", "children"), State("proposal-select", "value"),
                  State("proposal-select", "options"), State("campaign-id", "data"),
                  State("data-version", "data"), prevent_initial_call=True)
    def campaign_state(_n, _msg, _measured, selected, old_options, cid, version):
        try:
            header, options, ids, new_version = _campaign_state(data, int(cid))
        except Exception as exc:
            log.exception("reading the store")
            return _err(exc), [], None, no_update
        # keep the reviewer's choice: write the selection only when the selected proposal is gone (a tick that
        # started before a click must not undo the click), and the options only when they changed
        value = no_update if selected in ids else (ids[0] if ids else None)
        if options == old_options:
            options = no_update
        return header, options, value, (new_version if new_version != version else no_update)

    @app.callback(Output("proposal-detail", "children"), Input("proposal-select", "value"),
                  State("campaign-id", "data"))
    def proposal_detail(trial_id, cid):
        if trial_id is None:
            return html.P("No proposal awaits review.", id="no-proposal")
        try:
            return _proposal_view(data, int(cid), int(trial_id))
        except Exception as exc:
            log.exception("proposal view")
            return _err(exc)

    @app.callback(Output("decision-msg", "children"), Input("approve-btn", "n_clicks"),
                  Input("reject-btn", "n_clicks"), State("proposal-select", "value"), State("reviewer", "value"),
                  State("comment", "value"), prevent_initial_call=True)
    def decide(_a, _r, trial_id, reviewer, comment):
        decision = {"approve-btn": "approve", "reject-btn": "reject"}.get(ctx.triggered_id)
        if decision is None:
            return no_update
        if trial_id is None:
            return html.Div("No proposal selected.", className="error", style=STYLE["error"])
        try:
            t = data.decide(int(trial_id), decision, reviewer, comment)
        except TrialStateError:
            now = data.trial(int(trial_id))
            return html.Div(f"Trial #{now.index} was already {now.state} by {now.reviewer or 'someone else'}; "
                            "your decision was not recorded.", className="error decision-conflict",
                            style=STYLE["error"])
        except InputError as exc:
            return _err(exc)
        return html.Div(f"Trial #{t.index} {t.state} by {t.reviewer}.", className="decision-ok",
                        style=STYLE["ok"])

    @app.callback(Output("history-table", "data"), Output("history-table", "columns"),
                  Output("run-select", "options"), Output("compare-a", "options"), Output("compare-b", "options"),
                  Output("run-select", "value"), Output("compare-a", "value"), Output("compare-b", "value"),
                  Input("data-version", "data"), State("campaign-id", "data"), State("run-select", "value"),
                  State("compare-a", "value"), State("compare-b", "value"))
    @_guarded
    def history(_version_, cid, run_value, cmp_a, cmp_b):
        trials = data.trials(int(cid))
        rows, cols = history_rows(trials)
        options = [{"label": trial_label(t), "value": t.id} for t in trials]
        run_options = [o for o, t in zip(options, trials, strict=True) if t.result or t.state == "running"]
        done = [t for t in trials if t.result]
        objective = data.objective(int(cid))
        # default selections: the best run (else the latest one) against the newest proposal (else the latest)
        best = best_trial(trials, objective)
        anchor = best or (done[-1] if done else None)
        latest = next((t for t in reversed(trials) if t.state == AWAITING_REVIEW), trials[-1] if trials else None)
        if run_value is None and anchor is not None:
            run_value = anchor.id
        if cmp_a is None and anchor is not None:
            cmp_a = anchor.id
        if cmp_b is None and latest is not None:
            cmp_b = latest.id
        return (rows, [{"name": c, "id": c} for c in cols], run_options, options, options, run_value, cmp_a, cmp_b)

    @app.callback(Output("convergence-graph", "figure"), Output("params-graph", "figure"), Input("tabs", "value"),
                  Input("data-version", "data"), State("campaign-id", "data"))
    @_guarded
    def charts(tab, _version_, cid):
        if tab != "charts":  # drawn when first shown, then on each change of the campaign
            return no_update, no_update
        # the same builders as the static report (campaign report --html), on the store's trials table
        df = data.store.to_dataframe(int(cid))
        cfg = data.config(int(cid))
        objective = cfg.objective if cfg is not None else data.objective(int(cid))
        label = objective.minimize.replace("_ohm_cm2", " [Ω·cm²]").replace("_", " ")
        is_r_int = objective.minimize == "interface_resistance_ohm_cm2" and not objective.secondary_weight
        conv = figures.convergence_figure(df, objective_label=label, log_y=objective.log,
                                          reference=figures.PAPER_R_INT_OHM_CM2 if is_r_int else None)
        names = list(cfg.space.names) if cfg is not None else [f for f in Recipe.fields() if f in df]
        logs = [d.name for d in cfg.space.dimensions if d.log] if cfg is not None else []
        params = figures.parameter_figure(df, names, objective_label=label, log_fields=logs, log_y=objective.log)
        return conv, params

    @app.callback(Output("pd-graph", "figure"), Output("surrogate-note", "children"), Input("tabs", "value"),
                  Input("data-version", "data"), State("campaign-id", "data"))
    def surrogate(tab, _version_, cid):
        if tab != "surrogate":
            return no_update, no_update
        try:
            return _surrogate_view(data, int(cid))
        except Exception as exc:
            log.exception("surrogate view")
            return fr.partial_dependence_figure({}), _err(exc)

    @app.callback(Output("gantt-graph", "figure"), Output("telemetry-graph", "figure"), Output("run-note", "children"),
                  Input("run-select", "value"), State("campaign-id", "data"))
    @_guarded
    def run_view(trial_id, cid):
        if trial_id is None:
            return fr.event_gantt([]), fr.telemetry_figure(_empty_telemetry()), html.P("Choose a trial.")
        return _run_figures(data, int(cid), int(trial_id))

    @app.callback(Output("compare-table", "data"), Output("compare-table", "columns"),
                  Input("compare-a", "value"), Input("compare-b", "value"), State("campaign-id", "data"))
    @_guarded
    def compare(a, b, cid):
        if a is None or b is None:
            return [], [{"name": c, "id": c} for c in ("field", "A", "B", "diff")]
        ta, tb = data.trial(int(a)), data.trial(int(b))
        la, lb = f"#{ta.index}", f"#{tb.index}" if tb.id != ta.id else f"#{tb.index} (same)"
        ra, rb = trial_recipe(ta), trial_recipe(tb)
        if ra is None or rb is None:
            return [], [{"name": "field", "id": "field"}]
        rows = compare_recipes(ra, rb, la, lb)
        # a trial without a result (a proposal) shows the twin's expected outcome instead, marked "twin"
        outcome = {}
        for label, t, r in ((la, ta, ra), (lb, tb, rb)):
            if t.result:
                outcome[label] = (t.result, "")
            else:
                outcome[label] = (simulate(r, data.chamber(int(cid)), deterministic=True).to_dict(), " (twin)")
        for key, label in (("interface_resistance_ohm_cm2", "R_int [Ω·cm²]"),
                           ("total_resistance_ohm_cm2", "total R [Ω·cm²]"), ("process_time_s", "process time [s]"),
                           ("short_probability", "short probability"), ("shorted", "shorted")):
            (da, sa), (db, sb) = outcome[la], outcome[lb]
            va, vb = da.get(key), db.get(key)
            num = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
            rows.append({"field": label + (sa or sb), la: _sig(va), lb: _sig(vb),
                         "diff": _sig(float(vb) - float(va)) if num and va != vb else ""})
        return rows, [{"name": c, "id": c} for c in ("field", la, lb, "diff")]


def _surrogate_view(data: ReviewData, cid: int):
    trials = data.trials(cid)
    sur = data.surrogate(cid, trials)
    bounds = data.bounds(cid)
    past = [r for t in trials if t.result and (r := trial_recipe(t)) is not None]
    if sur is None or not bounds or not past:
        return fr.partial_dependence_figure({}), html.P(
            "No surrogate for this campaign yet (its strategy has no model, or fewer than two runs succeeded).",
            id="surrogate-missing")
    pdep = fr.partial_dependence(sur.predict, past, bounds)
    label = f"{sur.objective} [Ω·cm²]"
    fig = fr.partial_dependence_figure(pdep, log10=sur.log, y_label=label)
    proposals = [(t, r) for t in trials if t.state == AWAITING_REVIEW and (r := trial_recipe(t)) is not None]
    rows = []
    if proposals:
        mean, std = sur.predict([r for _, r in proposals])
        for (t, _), m, s in zip(proposals, mean, std, strict=True):
            v, lo, hi = sur.to_objective(m, s)
            v0, lo0, hi0 = to_objective(t.predicted_mean, t.predicted_std, sur.log)
            rows.append({"proposal": f"#{t.index}", "now": _sig(v, 4), "now −1σ": _sig(lo, 4), "now +1σ": _sig(hi, 4),
                         "at proposal": _sig(v0, 4)})
    note = html.Div([
        html.P(f"The campaign's strategy rebuilt from the store, told {sur.n_observed} outcomes. Partial dependence: "
               f"the surrogate's mean (±1 σ band) for each parameter, averaged over the {len(past)} past recipes.",
               id="surrogate-ok"),
        table(rows, ["proposal", "now", "now −1σ", "now +1σ", "at proposal"], "surrogate-now") if rows else "",
    ])
    return fig, note


def _campaign_state(data: ReviewData, cid: int):
    """Header, proposal options, proposal ids and data version of a campaign, as the page shows them."""
    trials = data.trials(cid)
    name = data.name(cid)
    proposals = [t for t in trials if t.state == AWAITING_REVIEW]
    objective = data.objective(cid)
    options = [{"label": f"#{t.index}  EI {t.expected_improvement or 0:.3g}", "value": t.id} for t in proposals]
    best = best_trial(trials, objective)
    counts = {s: sum(t.state == s for t in trials) for s in ("proposed", "approved", "running", "done", "failed",
                                                               "rejected", "awaiting_measurement")}
    header = html.Div([
        html.H2(f"Campaign {cid}: {name}", id="campaign-title"),
        html.P([f"{len(trials)} trials · ", html.Span(f"{counts['proposed']} awaiting review", id="n-awaiting"),
                " · " + " · ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v and k != "proposed"),
                f" · best so far: {fmt_ohm(best.interface_resistance_ohm_cm2)} (#{best.index})" if best
                else " · no result yet"], id="campaign-counts"),
    ])
    return header, options, [t.id for t in proposals], _version(trials)


def _empty_telemetry():
    import pandas as pd

    return pd.DataFrame({"time_s": []})


def _run_figures(data: ReviewData, cid: int, trial_id: int):
    t = data.trial(trial_id)
    events = (t.result or {}).get("events") or []
    recipe = trial_recipe(t)
    tel = data.telemetry(trial_id)
    note = "Telemetry as recorded by the run."
    if tel is None and recipe is not None:
        seed = (t.result or {}).get("seed")
        deterministic = bool((t.result or {}).get("deterministic"))
        chamber = chamber_before(data.chamber(cid), data.trials(cid), t)  # the chamber state the run started in
        res = simulate(recipe, chamber, seed=seed, deterministic=deterministic, telemetry=True)
        tel = res.telemetry
        same = [e.to_dict() for e in res.events] == [dict(e) for e in events] if events else False
        note = (f"No telemetry stored for #{t.index}: traces re-simulated on the twin from its recipe, seed {seed} and "
                "the chamber state recorded before it" + (" (the re-simulated events match the recorded ones)."
                                                          if same else "; events as recorded."))
        if not events:
            events = [e.to_dict() for e in res.events]
    if tel is None:
        tel = _empty_telemetry()
    title = f"#{t.index}"
    return (fr.event_gantt(events, f"Event timeline of {title}"), fr.telemetry_figure(tel, f"Telemetry of {title}"),
            html.P(note, id="run-note-text"))


def _proposal_view(data: ReviewData, cid: int, trial_id: int) -> html.Div:
    """The proposal beside the best so far, predictions, margins to limits, nearest past runs."""
    trial = data.trial(trial_id)
    trials = data.trials(cid)
    recipe = trial_recipe(trial)
    if recipe is None:
        return html.Div([html.P(f"Trial #{trial.index}: its recipe does not validate: {trial.recipe}",
                                style=STYLE["error"])])
    chamber = data.chamber(cid)
    objective = data.objective(cid)
    best = best_trial(trials, objective)
    best_recipe = trial_recipe(best) if best else None

    if best_recipe is not None:
        rows = compare_recipes(best_recipe, recipe, f"best #{best.index}", f"proposal #{trial.index}")
        cmp_cols = ["field", f"best #{best.index}", f"proposal #{trial.index}", "diff"]
    else:
        rows = [{"field": f, f"proposal #{trial.index}": v} for f, v in recipe.to_dict().items()]
        cmp_cols = ["field", f"proposal #{trial.index}"]

    twin = simulate(recipe, chamber, deterministic=True)
    pv, plo, phi = to_objective(trial.predicted_mean, trial.predicted_std, objective.log)
    units = "log10 units" if objective.log else "objective units"
    try:
        chamber.check(recipe)
        limit_note = html.Span("within the tool's limits", className="limits-ok")
    except InputError as exc:
        limit_note = html.Span(f"REFUSED by the tool: {exc}", className="limits-bad", style={"color": "#a00"})

    past = [(t, r) for t in trials if t.id != trial.id and t.result and (r := trial_recipe(t)) is not None]
    near = nearest_past(recipe, [r for _, r in past], k=5, bounds=data.bounds(cid))
    near_rows = [{"trial": f"#{past[n.index][0].index}", "distance": round(n.distance, 3),
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
        html.Tr([html.Th("best so far"), html.Td(
            f"{fmt_ohm(best.interface_resistance_ohm_cm2)} (#{best.index})" if best else "none yet")]),
        html.Tr([html.Th("tool limits"), html.Td(limit_note)]),
    ])])
    return html.Div(id="proposal-view", children=[
        html.H3(f"Proposal #{trial.index} (trial id {trial.id})", id="proposal-title"),
        pred,
        html.Div(style=STYLE["row"], children=[
            html.Div([html.H4("Recipe beside the best so far"), table(rows, cmp_cols, "proposal-compare")],
                     style={"flex": "1"}),
            html.Div([html.H4("Nearest past runs (normalised distance)"),
                      table(near_rows, ["trial", "distance", "R_int [Ω·cm²]", "state"], "nearest-table")],
                     style={"flex": "1"}),
        ]),
        html.H4("Margins to the tool's limits"),
        _margins_table(limit_margins(recipe, chamber)),
    ])


def _margins_table(margins) -> html.Table:
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


def _sig(v, digits: int = 5):
    """Numbers to ``digits`` significant figures for tables; other values unchanged."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return v
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _r(v: float) -> float | None:
    return round(v, 3) if math.isfinite(v) else None


__all__ = ["DEFAULT_REFRESH_MS", "DashboardError", "create_app"]
