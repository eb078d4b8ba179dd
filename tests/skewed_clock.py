"""Run the real `deployer` CLI with a wall clock off by SKEW seconds (the clock a host with a wrong time has).

    python tests/skewed_clock.py SKEW deploy --image ...

Shifts time.time() and the lease's wall clock (deployer.release.lease.now) by SKEW; monotonic clocks and
SSM's clock are untouched, as on a host whose time is wrong. Used by tests/test_e2e_lease_clocks.py.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

if __name__ == "__main__":
    skew = float(sys.argv[1])
    real_time = time.time
    time.time = lambda: real_time() + skew

    from deployer.release import lease

    real_now = lease.now
    lease.now = lambda: real_now() + timedelta(seconds=skew)
    sys.argv = ["deployer", *sys.argv[2:]]
    from deployer.cli.app import main

    main()
