"""The corpus executor: results in input order, state handed over explicitly, errors raised."""

import os
import signal

import pytest

from corpus.parallel import InProcessExecutor, Job, ProcessExecutor, WorkerError, local_executor


def _scaled(factor: int, item: int) -> tuple[int, int]:
    return item * factor, os.getpid()


def _fails_on_three(_state: None, item: int) -> int:
    if item == 3:
        raise ValueError(f"page {item} is broken")
    return item


def _dies_on_two(_state: None, item: int) -> int:
    if item == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


@pytest.mark.parametrize("executor", [InProcessExecutor(), ProcessExecutor(2, in_flight=1)])
def test_executor_returns_results_in_input_order_with_its_state(executor):
    results = list(executor.map(Job(_scaled, 10), range(25)))
    assert [value for value, _ in results] == [i * 10 for i in range(25)]
    pids = {pid for _, pid in results}
    if isinstance(executor, ProcessExecutor):
        assert os.getpid() not in pids and len(pids) <= 2
    else:
        assert pids == {os.getpid()}


def test_process_executor_raises_a_worker_exception_with_its_traceback():
    with pytest.raises(ValueError, match="page 3 is broken") as caught:
        list(ProcessExecutor(2).map(Job(_fails_on_three, None), range(6)))
    assert any("in a worker process" in note for note in caught.value.__notes__)


def test_process_executor_reports_a_dead_worker():
    with pytest.raises(WorkerError, match="exit code"):
        list(ProcessExecutor(2).map(Job(_dies_on_two, None), range(4)))


def test_local_executor_stays_in_process_for_one_worker():
    assert isinstance(local_executor(1), InProcessExecutor)
    assert local_executor(3).workers == 3
    with pytest.raises(ValueError, match="workers=0"):
        ProcessExecutor(0)
