"""Each task's share of the cores under `doit -n N`."""

import os

import pytest


@pytest.mark.parametrize(
    "argv, jobs",
    [
        (["doit", "stage"], 1),
        (["doit", "-n", "2", "stage"], 2),
        (["doit", "-n4", "stage"], 4),
        (["doit", "--process=3", "stage"], 3),
        (["doit", "--process", "2"], 2),
        (["doit", "-n", "x"], 1),
    ],
)
def test_each_task_takes_its_share_of_the_cores_under_doit_n(argv, jobs):
    from rules.core.cores import cores_per_task, doit_jobs

    assert doit_jobs(argv) == jobs
    assert cores_per_task(argv) == max(1, len(os.sched_getaffinity(0)) // jobs)
