"""One home for the project's paths and defaults.

Examples:
    >>> from analysis import config
    >>> config.ENVELOPE_FORMAT, config.ENDPOINT
    ('nomad-wi-readiness/snapshot', '/v1/operator/upgrade-check/vault-workload-identity')
"""

from __future__ import annotations

from pathlib import Path

#: The repository root (the package is installed in editable mode by the Makefile).
ROOT = Path(__file__).resolve().parent.parent
#: Parameterized notebooks rendered into reports.
NOTEBOOKS_DIR = ROOT / "notebooks"
#: Bundled snapshots: the documentation's sample and the generated demo.
DATA_DIR = ROOT / "data"
#: Where `make report` and the CLI put rendered reports by default.
REPORTS_DIR = ROOT / "reports"

#: The endpoint this toolkit reads (Nomad 1.7.3+; ACL `operator:read`).
ENDPOINT = "/v1/operator/upgrade-check/vault-workload-identity"
#: The `format` value of the project's snapshot envelope, and the newest envelope version this code reads.
ENVELOPE_FORMAT = "nomad-wi-readiness/snapshot"
ENVELOPE_VERSION = 1

#: Nomad's own default agent address.
DEFAULT_ADDRESS = "http://127.0.0.1:4646"
#: Seconds to wait for a TCP/TLS connection, and for each read.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
#: Transient failures (connection errors, 429, 502-504) are retried this many times, with backoff.
RETRIES = 3
BACKOFF_SECONDS = 0.5

#: The version cut-off Nomad uses: clients older than this cannot run workload-identity Vault jobs.
MIN_WI_VERSION = "1.7.0-a"

#: The largest snapshot read, compressed or not (the large benchmark snapshot is about 140 MB): a guard against
#: devices, gzip bombs and stray files, not a limit real clusters reach.
MAX_SNAPSHOT_BYTES = 4 * 1024**3
#: More distinct task driver names than this is not a Nomad cluster (real ones have a handful).
MAX_DRIVERS = 1024
