"""`make demo`: the twin reproduces Haruta et al. (2015), then shows what air exposure and annealing do."""

from __future__ import annotations

from pathlib import Path

from twin import Chamber, Recipe, simulate

HERE = Path(__file__).parent
PAPER_OHM_CM2 = 8.6


def main() -> None:
    chamber = Chamber.from_toml(HERE / "chambers" / "default.toml")
    print("sputter-twin demo: deterministic twin, default chamber\n")
    print(f"{'recipe':<24}{'R_int [Ω·cm²]':>14}{'vs paper':>10}{'damage [nm]':>13}{'protons':>9}")
    for name in ("haruta2015", "air_exposed", "air_exposed_annealed", "harsh"):
        recipe = Recipe.from_toml(HERE / "recipes" / f"{name}.toml")
        res = simulate(recipe, chamber, deterministic=True)
        r = res.interface_resistance_ohm_cm2
        print(f"{name:<24}{r:>14.2f}{r / PAPER_OHM_CM2:>9.2f}×{res.damaged_layer_nm:>13.3f}"
              f"{res.proton_uptake:>9.3f}")
    print(f"\nHaruta et al., Nano Lett. 15, 1498 (2015): {PAPER_OHM_CM2} Ω·cm² for the clean interface.")


if __name__ == "__main__":
    main()
