"""bench/startup.py's reading of `docker inspect`: the stages of a start-up and the summary
of several runs (the Docker part itself runs in `make bench-startup`)."""

from __future__ import annotations

from datetime import datetime

from bench.startup import container_state, stages, summarise

T0 = datetime.fromisoformat("2026-12-02T09:00:00+00:00").timestamp()


def healthy_container(log):
    return {
        "State": {
            "Status": "running",
            "StartedAt": "2026-12-02T09:00:04.512345678Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
            "Health": {"Status": "healthy", "Log": log},
        }
    }


def test_stages_of_a_checked_container_are_its_start_first_check_and_first_success():
    log = [
        {"Start": "2026-12-02T09:00:09.5Z", "End": "2026-12-02T09:00:09.6Z", "ExitCode": 1},
        {"Start": "2026-12-02T09:00:14.5Z", "End": "2026-12-02T09:00:14.61Z", "ExitCode": 0},
        {"Start": "2026-12-02T09:00:19.5Z", "End": "2026-12-02T09:00:19.6Z", "ExitCode": 0},
    ]
    assert stages(healthy_container(log), T0) == {
        "started_s": 4.5,
        "first_check_s": 9.5,
        "healthy_s": 14.6,
    }


def test_a_container_not_yet_checked_has_no_check_times():
    info = healthy_container([])
    info["State"]["Health"]["Status"] = "starting"
    assert stages(info, T0) == {"started_s": 4.5, "first_check_s": None, "healthy_s": None}
    assert container_state(info) == "starting"


def test_a_one_shot_container_has_its_exit_time():
    info = {
        "State": {
            "Status": "exited",
            "ExitCode": 0,
            "StartedAt": "2026-12-02T09:00:01.0Z",
            "FinishedAt": "2026-12-02T09:00:01.3Z",
        }
    }
    assert stages(info, T0) == {"started_s": 1.0, "exited_s": 1.3}
    assert container_state(info) == "done"
    info["State"]["ExitCode"] = 1
    assert container_state(info) == "failed"


def run(seconds):
    return {"seconds_to_healthy": seconds, "stages": {}}


def test_summary_is_median_and_max_and_keeps_the_slowest_run():
    s = summarise([run(9.9), run(11.1), run(10.4)])
    assert s["seconds_to_healthy_median"] == 10.4 and s["seconds_to_healthy_max"] == 11.1
    assert s["goal_met"] is True and s["slowest_run"]["seconds_to_healthy"] == 11.1
    assert summarise([run(9.0), run(15.2)])["goal_met"] is False


def test_a_run_that_never_got_healthy_spoils_the_summary():
    s = summarise([run(9.9), run(None)])
    assert s["seconds_to_healthy_median"] is None and s["seconds_to_healthy_max"] is None
    assert s["goal_met"] is False and s["slowest_run"]["seconds_to_healthy"] is None
