"""``--scheduler``: the shards of ``--jobs`` run on a Dask cluster, merged here.

``tcp://HOST:PORT`` (or ``tls://``...) is an existing cluster's scheduler; ``local`` or
``local:N`` starts a ``distributed.LocalCluster`` of N worker processes (default: one per
core) for the run. Each capture is split into as many shards as the cluster has worker
threads (several captures are spread over them), each (capture, shard) is one task running
``tcpcheck.shards.run_shard`` on a worker, and the results are merged here into the report of
one process. Workers need the same tcpcheck installed and the captures readable at the same
paths. Dask is an optional dependency (``pip install 'tcpcheck[dask]'``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tcpcheck.parallel import Plan, Run, capture_size
from tcpcheck.pipeline import Job
from tcpcheck.readfilter import ReadFilter
from tcpcheck.timeline import Recording

INSTALL_HINT = "pip install 'tcpcheck[dask]'"
CONNECT_TIMEOUT = "10s"
"""How long to wait for an existing cluster's scheduler before giving up."""


class ClusterError(Exception):
    """Dask is missing, or the scheduler is not reachable or not understood: one line."""


def analyze_on_cluster(jobs: Sequence[Job], scheduler: str, *,
                       recording: Recording | None = None,
                       max_connections: int | None = None,
                       read_filter: ReadFilter | None = None,
                       on_wait: Callable[[str], None] | None = None) -> list[Run]:
    """Each job's summary and finished analyzer, in order, as ``analyze_capture`` gives
    them, the shards computed by the cluster ``scheduler`` names. Standard input, FIFOs and
    stitched sets (``--stitch``) are analysed in this process."""
    with _client(scheduler) as client:
        threads = sum(client.nthreads().values()) or 1
        readable = [capture_size(job) is not None for job in jobs]
        per_file = max(1, threads // max(1, sum(readable)))
        plan = Plan(jobs, [per_file if ok else 0 for ok in readable], recording,
                    max_connections, read_filter, on_wait)
        return plan.run(lambda function, task: client.submit(function, task, pure=False),
                        first_here=False)


def parse_local(scheduler: str) -> int | None:
    """The worker count of ``local`` or ``local:N`` (``local``: one per core); None when
    ``scheduler`` is an address."""
    name, _, count = scheduler.partition(":")
    if name != "local":
        return None
    if not count:
        return os.cpu_count() or 1
    if not count.isdigit() or int(count) < 1:
        raise ClusterError(f"--scheduler {scheduler}: give local, local:N with N a number "
                           f"of workers, or a scheduler's address such as tcp://HOST:8786")
    return int(count)


@contextmanager
def _client(scheduler: str) -> Iterator[Any]:
    """A Dask client of the cluster ``scheduler`` names (started here for ``local``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError(f"--scheduler needs Dask's distributed scheduler: "
                           f"{INSTALL_HINT}") from None
    workers = parse_local(scheduler)
    if workers is not None:
        # The scheduler's web server on any free port: 8787 may be another cluster's.
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
        return
    if "://" not in scheduler:
        raise ClusterError(f"--scheduler {scheduler}: give a scheduler's address such as "
                           f"tcp://HOST:8786, or local or local:N")
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        yield client
