"""``python -m jivo_ops.locust [locust options…]``: Locust with the generated locustfile (the profile
from ``$JIVO_OPS_PROFILE``, the built-in script); `jivo-ops load` has the jivo-ops options."""

import sys

from .launch import run_load

if __name__ == "__main__":
    sys.exit(run_load(None, sys.argv[1:]))
