# Must run before anything imports socket/threading users (nameko, kombu,
# requests...): plain pytest hangs with nameko otherwise.
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

eventlet.monkey_patch()

import os  # noqa: E402

# argon2-cffi's cheapest profile for the passwords hashed and checked in this process (a default verification takes
# ~90 ms, and the gateway's unit tests log in hundreds of times). The systems the e2e tests start use the default
# (tests/e2e/conftest.py drops this). See gateway/src/gateway/accounts.py.
os.environ.setdefault("GATEWAY_PASSWORD_HASH_PROFILE", "cheapest")


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="long variants: the fault run sends 10,000 complaints (tests/e2e/test_zz_fault_run.py; "
                          "FAULT_COMPLAINTS=N wins)")
