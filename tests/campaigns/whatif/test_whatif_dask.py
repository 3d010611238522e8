"""What-if studies on a real Dask cluster: local processes, an existing scheduler, determinism, failures."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys

import dask
import pandas as pd
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.whatif import ClusterError, Plan, Scenario, parts_dir, read_partial, run_chunk, run_plan
from campaigns.whatif.engine import run_chunk_parquet
from campaigns.whatif.runner import METADATA_KEY, _drain, parse_scheduler_address
from sputter_twin.cli.main import main
from tests.campaigns.whatif.worker_faults import FAULT_ENV, KillOnce
from tests.conftest import EXAMPLES, ROOT
from twin.errors import InputError

SMALL = EXAMPLES / "scenarios" / "small.toml"


def _cluster(n: int):
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1", scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    return cluster, Client(cluster, set_as_default=False)


@pytest.fixture(scope="module")
def two_workers():
    cluster, client = _cluster(2)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def plan():
    return Plan(Scenario.from_toml(SMALL))


@pytest.fixture(scope="module")
def expected(plan):
    """The study run in this process, in one piece: what every cluster, worker count and chunk size must give."""
    return run_chunk(plan, 0, plan.n_sequences).to_pandas()


def test_same_seed_same_results_whatever_workers_or_chunk_size(two_workers, plan, expected, tmp_path):
    info = run_plan(plan, tmp_path / "two.parquet", client=two_workers, chunk_runs=7, progress=False)
    assert info.workers == 2 and info.chunks == -(-plan.total_runs // 7) and info.runs == plan.total_runs
    cluster, one = _cluster(1)
    try:
        info1 = run_plan(plan, tmp_path / "one.parquet", client=one, chunk_runs=40, progress=False)
    finally:
        one.close()
        cluster.close()
    assert info1.workers == 1 and info1.chunks == 3
    two = pd.read_parquet(tmp_path / "two.parquet")
    pd.testing.assert_frame_equal(two, expected)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), expected)
    assert not parts_dir(tmp_path / "two.parquet").exists()
    # provenance: the scenario text travels with the results
    meta = pq.read_schema(tmp_path / "two.parquet").metadata
    assert meta[METADATA_KEY].decode() == SMALL.read_text(encoding="utf-8")
    # and the work was really spread over both worker processes
    assert len({w for w in two_workers.run(os.getpid).values()}) == 2


def _run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sputter_twin", "whatif", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_through_an_existing_scheduler(two_workers, expected, tmp_path):
    out = tmp_path / "runs.parquet"
    proc = _run_cli(str(SMALL), "--out", str(out), "--scheduler", two_workers.scheduler.address,
                    "--chunk-size", "20", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "per variation" in proc.stdout and "global sensitivity (sobol" in proc.stdout
    assert proc.stderr == ""
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_cli_local_cluster_with_report(expected, tmp_path):
    out, report = tmp_path / "runs.parquet", tmp_path / "report.html"
    proc = _run_cli(str(SMALL), "--out", str(out), "--report", str(report), "--workers", "2", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "on 2 worker(s) (local cluster" in proc.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    page = report.read_text(encoding="utf-8")
    assert "Global sensitivity" in page and "R_int against recipe.pumpdown_min" in page
    # the printed summary is the data's: variation 1 (leak 0.2/h, 24 h pump-down) mean R_int
    sweep = expected[expected["design"] == "sweep"]
    mean = sweep[sweep["variation"] == 1]["interface_resistance_ohm_cm2"].mean()
    assert f"{mean:.4g}" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_exit_1_with_one_line(tmp_path):
    addr = f"tcp://127.0.0.1:{_free_port()}"
    proc = _run_cli(str(SMALL), "--out", str(tmp_path / "x.parquet"), "--scheduler", addr, "--connect-timeout", "1")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and addr in proc.stderr and "cannot reach the Dask scheduler" in proc.stderr
    assert not (tmp_path / "x.parquet").exists() and not parts_dir(tmp_path / "x.parquet").exists()


def test_scheduler_without_workers_is_exit_1_with_one_line(tmp_path, capsys):
    cluster = LocalCluster(n_workers=0, processes=True, dashboard_address=None, host="127.0.0.1",
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    try:
        rc = main(["whatif", str(SMALL), "--out", str(tmp_path / "x.parquet"), "--scheduler",
                   cluster.scheduler_address, "--connect-timeout", "1"])
    finally:
        cluster.close()
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "has no workers" in err


@pytest.mark.parametrize("args, words", [
    (["--out", "x.csv"], "--out = "),
    (["--out", "x.parquet", "--workers", "0"], "--workers = 0"),
    (["--out", "x.parquet", "--chunk-size", "0"], "--chunk-size = 0"),
    (["--out", "x.parquet", "--report", "r.pdf"], "--report = "),
    (["--out", "nodir/x.parquet"], "directory does not exist"),
    (["--out", "."], "--out = "),
    (["--out", "x.parquet", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "local cluster only"),
    (["--out", "x.parquet", "--scheduler", "nonsense"], "not a scheduler address"),
    (["--out", "x.parquet", "--scheduler", "tcp://127.0.0.1:99999"], "not a scheduler address"),
    (["--out", "x.parquet", "--scheduler", "udp://127.0.0.1:5"], "unknown scheme"),
])
def test_bad_arguments_are_exit_2_with_one_line(args, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(["whatif", str(SMALL), *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and words in err


@pytest.mark.parametrize("vary, words", [
    ('[vary."events.leak_rate"]\ngrid = [1.0]\n', "unknown parameter"),
    ('[vary."recipe.pumpdown_min"]\ngrid = []\n', "empty grid"),
    ('[scenario]\nsamples = 4\n[vary."events.leak_rate_per_h"]\ndistribution = "normal"\nmean = 1.0\nsd = -2.0\n',
     "standard deviation must be positive"),
])
def test_bad_scenarios_are_exit_2_with_one_line(vary, words, tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(vary)
    rc = main(["whatif", str(p), "--out", str(tmp_path / "x.parquet")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and words in err and str(p) in err


def test_failure_midway_keeps_the_chunks_already_written(two_workers, tmp_path, capsys):
    """A design point that turns out invalid only when it runs: an input error, and the finished chunks stay
    readable. (The plan refuses such a scenario before it runs, so the CLI never gets here: the plan is built
    unchecked to reach the runner's failure path.)"""
    scen = tmp_path / "combo.toml"
    scen.write_text(
        '[scenario]\nseed = 1\nsamples = 20\nreplicates = 2\n'
        '[vary."recipe.seed_thickness_nm"]\ngrid = [0.0, 60.0]\n'
        '[vary."recipe.target_thickness_nm"]\ndistribution = "uniform"\nlow = 20.0\nhigh = 200.0\n')
    out = tmp_path / "combo.parquet"
    rc = main(["whatif", str(scen), "--out", str(out), "--scheduler", two_workers.scheduler.address,
               "--chunk-size", "4", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "sweep variation 1, draw" in err  # refused before any run
    assert not out.exists() and not parts_dir(out).exists()
    plan = Plan(Scenario.from_toml(scen), check=False)  # fails in variation 1 only
    with pytest.raises(InputError) as info:
        run_plan(plan, out, client=two_workers, chunk_runs=4, progress=False)
    err = str(info.value)
    assert "\n" not in err and "design point" in err and "seed_thickness_nm" in err and "already saved" in err
    assert not out.exists()
    parts = parts_dir(out)
    saved = pd.read_parquet(parts)  # pandas reads the directory of complete chunks
    # chunk 0 (variation 0: valid) goes out first, so it is in flight or done when the failure comes: kept
    assert len(saved) >= 4 and (saved["run_index"] < 4).sum() == 4
    # every chunk still in flight was awaited: what the message counts is what is on disk
    assert f"({len(saved)} runs already saved in " in err
    assert (saved["recipe.seed_thickness_nm"] <= saved["recipe.target_thickness_nm"]).all()  # only valid points
    assert saved["run_index"].is_unique
    pd.testing.assert_frame_equal(read_partial(out).reset_index(drop=True),
                                  saved.sort_values("run_index", ignore_index=True))
    assert not list(parts.glob(".*tmp"))


def test_a_failure_keeps_every_chunk_still_in_flight(two_workers, plan, expected, tmp_path):
    """What the runner does after a chunk fails: await the chunks in flight (through the runner's own client,
    which is not Dask's default one) and write each that succeeds."""
    chunks = [plan.chunk(i, 8) for i in range(3)]
    in_flight = {two_workers.submit(run_chunk_parquet, plan, a, b, pure=False): i for i, (a, b) in enumerate(chunks)}
    written = _drain(in_flight, tmp_path, 60.0)
    assert written == sum(b - a for a, b in chunks) * plan.runs_per_sequence and not in_flight
    saved = pd.read_parquet(tmp_path).sort_values("run_index", ignore_index=True)
    pd.testing.assert_frame_equal(saved, expected[expected["sequence"] < chunks[-1][1]].reset_index(drop=True),
                                  check_dtype=False)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=30), st.builds(lambda s, h, p: f"{s}{h}:{p}", st.sampled_from(["", "tcp://", "tls://",
                                                                                            "udp://", "://"]),
                                                 st.sampled_from(["127.0.0.1", "", "[::1]", "localhost", "a:b"]),
                                                 st.integers(-5, 70000))))
def test_scheduler_addresses_parse_or_fail_cleanly(address):
    try:
        host, port = parse_scheduler_address(address)
    except InputError as exc:
        assert "\n" not in str(exc) and exc.field == "--scheduler"
        return
    assert host and 0 < port < 65536


# -- lost workers: real worker processes die (tests/campaigns/whatif/worker_faults.py) --------------------------
def _faulty_env(fault: str) -> dict[str, str]:
    """The environment of a CLI run whose local cluster's workers load the fault module at start-up."""
    return {**os.environ, FAULT_ENV: fault,
            "DASK_DISTRIBUTED__WORKER__PRELOAD": '["tests.campaigns.whatif.worker_faults"]'}


def test_worker_dying_at_startup_is_exit_1_with_one_line_and_nothing_written(tmp_path):
    out = tmp_path / "x.parquet"
    proc = subprocess.run([sys.executable, "-m", "sputter_twin", "whatif", str(SMALL), "--out", str(out), "--workers",
                           "2", "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=_faulty_env("startup"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "local Dask cluster of 2 worker process(es) did not start" in proc.stderr
    assert "nothing was run or written" in proc.stderr
    assert not out.exists() and not parts_dir(out).exists()


def test_worker_killed_midrun_is_rerun_counted_and_warned_in_one_line(expected, tmp_path):
    out, marker = tmp_path / "runs.parquet", tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-m", "sputter_twin", "whatif", str(SMALL), "--out", str(out), "--workers",
                           "2", "--chunk-size", "4", "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env=_faulty_env(f"midrun:{marker}"))
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()  # a worker really was killed (SIGKILL) as it started a chunk
    assert proc.stderr.count("\n") == 1 and "was lost mid-run" in proc.stderr
    assert "rerun on other workers" in proc.stderr
    n = int(re.search(r"; (\d+) unfinished chunks? it held", proc.stderr).group(1))
    assert n >= 1  # at least the chunk it was running
    assert f"1 worker lost mid-run, {n} chunk{'s' * (n != 1)} rerun on other workers" in proc.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)  # nothing lost, nothing twice


def test_a_lone_worker_lost_midrun_is_survived_and_counted(plan, expected, tmp_path, caplog):
    """One worker: the plan it held is lost with it and recomputed on the worker its nanny restarts."""
    cluster, client = _cluster(1)
    try:
        client.register_plugin(KillOnce(str(tmp_path / "killed")))
        with caplog.at_level(logging.WARNING, logger="campaigns.whatif.runner"):
            info = run_plan(plan, tmp_path / "one.parquet", client=client, chunk_runs=8, progress=False)
    finally:
        client.close()
        cluster.close()
    assert info.lost_workers == 1 and info.rerun_chunks >= 1 and info.runs == plan.total_runs
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "campaigns.whatif.runner"]
    assert f"; {info.rerun_chunks} unfinished chunk" in warning
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), expected)


def test_a_chunk_that_kills_its_workers_is_exit_1_with_what_was_saved(plan, tmp_path):
    """With ``allowed-failures = 0`` the scheduler gives a chunk up after one dead worker (KilledWorker)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster, client = _cluster(2)
    try:
        client.register_plugin(KillOnce(str(tmp_path / "killed")))
        with pytest.raises(ClusterError) as info:
            run_plan(plan, tmp_path / "x.parquet", client=client, chunk_runs=4, progress=False)
    finally:
        client.close()
        cluster.close()
    err = str(info.value)
    assert "\n" not in err and "every worker that ran it died" in err and "already saved" in err
    assert not (tmp_path / "x.parquet").exists()
    # what the message says was saved is on disk, readable (what the other worker finished in the meantime)
    n_saved = int(re.search(r"\((\d+) runs already saved in ", err).group(1))
    if n_saved:
        saved = read_partial(tmp_path / "x.parquet")
        assert len(saved) == n_saved < plan.total_runs and saved["run_index"].is_unique
