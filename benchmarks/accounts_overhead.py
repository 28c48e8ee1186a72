"""CPU per request added by the sign-in guards (issue 14), in-process.

Compares the inbox page and the API document list for a leader with a verified session,
through the whole middleware stack, with and without the accounts middlewares (session
limits, two-factor gate, OTP device, CSP header, axes). CPU time (``time.process_time``)
moves less than wall time with other load on the machine. Nothing is asserted.

    .venv/bin/python benchmarks/accounts_overhead.py [-n 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUARDS = (
    "django_otp.middleware.OTPMiddleware",
    "workflow.accounts.middleware.SessionLimitsMiddleware",
    "workflow.accounts.middleware.TwoFactorMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="requests per variant and page")
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="mttq-accounts-bench-")
    os.environ.update({"MTTQ_VAR_DIR": var, "DATABASE_URL": f"sqlite:///{var}/db.sqlite3",
                       "DJANGO_SETTINGS_MODULE": "config.settings"})
    import warnings

    import django

    warnings.filterwarnings("ignore", "No directory at")  # no collected static files here
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from tests.factories import make_org
    from tests.second_factor import verified_session

    leader = make_org().person("province", "leader")
    variants = {
        "with the guards": list(settings.MIDDLEWARE),
        "without": [m for m in settings.MIDDLEWARE if m not in GUARDS],
    }
    print(f"CPU ms per request, median of {args.n} (leader, verified session, SQLite)")
    for path in ("/", "/api/documents/"):
        for name, middleware in variants.items():
            with override_settings(MIDDLEWARE=middleware):
                client = Client()
                client.force_login(leader)
                verified_session(client.session, leader)
                client.get(path)
                samples = []
                for _ in range(args.n):
                    started = time.process_time()
                    response = client.get(path)
                    samples.append((time.process_time() - started) * 1000)
                    assert response.status_code == 200, response.status_code
            print(f"  {path:<16} {name:<16} {statistics.median(samples):6.2f} ms "
                  f"(p90 {statistics.quantiles(samples, n=10)[-1]:.2f})")


if __name__ == "__main__":
    main()
