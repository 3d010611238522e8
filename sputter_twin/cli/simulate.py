"""``sputter-twin simulate RECIPE.toml``: one run on the twin."""

from __future__ import annotations

import json
from pathlib import Path

from sputter_twin.cli.slips import warn
from twin import Chamber, Recipe, simulate
from twin.errors import InputError
from twin.plausibility import unit_slips


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one run of a recipe on the twin")
    p.add_argument("recipe", type=Path, help="recipe TOML file (one [recipe] table)")
    p.add_argument("--chamber", type=Path, help="chamber TOML file (default: built-in default chamber)")
    p.add_argument("--seed", type=int, help="seed of the random events and noise (recorded in the result)")
    p.add_argument("--deterministic", action="store_true", help="expected outcome: no random events, no noise")
    p.add_argument("--json", action="store_true", help="print RunResult.to_dict() as one JSON object")
    p.add_argument("--telemetry", type=Path, metavar="FILE", help="write telemetry to FILE (.csv or .parquet)")
    p.set_defaults(func=run)


def _summary(res) -> str:
    r = res.recipe
    lines = [
        f"recipe: {r.target_thickness_nm:g} nm at {r.rf_power_w:g} W"
        + (f" (seed {r.seed_thickness_nm:g} nm at {r.seed_power_w:g} W)" if r.seed_thickness_nm else "")
        + f", {r.pressure_pa:g} Pa, N2 {r.n2_fraction:.0%}, {r.transfer} transfer",
        f"interface resistance  {res.interface_resistance_ohm_cm2:9.2f} Ω·cm²   (Haruta et al. 2015: 8.6 Ω·cm²)",
        f"bulk resistance       {res.bulk_resistance_ohm_cm2:9.2f} Ω·cm²"
        f"   (σ = {res.ionic_conductivity_s_cm:.2e} S/cm)",
        f"thickness             {res.thickness_nm:9.1f} nm       rate {res.deposition_rate_nm_min:.2f} nm/min",
        f"process time          {res.process_time_s / 3600:9.2f} h"
        f"        deposition {res.deposition_time_s / 60:.1f} min",
        f"damage dose           {res.interface_damage_dose_ev_nm2:9.1f} eV/nm²"
        f"   delithiated {res.damaged_layer_nm:.3f} nm",
        f"contamination         {res.interface_contamination_ml:9.3f} ML       H2O dose {res.h2o_dose_langmuir:.3g} L,"
        f" protons {res.proton_uptake:.3f}",
        f"Li/P {res.li_p_ratio:.2f}, N/P {res.nitrogen_content:.2f}, short probability {res.short_probability:.3f}"
        f" -> {'SHORTED' if res.shorted else 'not shorted'}",
    ]
    counts = {k: v for k, v in res.event_counts().items() if v}
    lines.append("events: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none")
                 + ("  (deterministic)" if res.deterministic else f"  (seed {res.seed})"))
    return "\n".join(lines)


def write_table(df, path: Path) -> None:
    """Write a DataFrame as CSV or Parquet, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise InputError("--telemetry", str(path), "unknown file type", ".csv | .parquet")


def run(args) -> int:
    if args.telemetry is not None and args.telemetry.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputError("--telemetry", str(args.telemetry), "unknown file type", ".csv | .parquet")
    recipe = Recipe.from_toml(args.recipe)
    chamber = Chamber.from_toml(args.chamber) if args.chamber else Chamber()
    try:
        chamber.check(recipe)
    except InputError as exc:
        raise exc.with_source(str(args.recipe)) from None
    warn(str(args.recipe), unit_slips(recipe))
    res = simulate(recipe, chamber, seed=args.seed, deterministic=args.deterministic,
                   telemetry=args.telemetry is not None)
    if args.telemetry is not None:
        write_table(res.telemetry, args.telemetry)
    if args.json:
        print(json.dumps(res.to_dict()))
    else:
        print(_summary(res))
    return 0
