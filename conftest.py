# Must run before anything imports socket/threading users (nameko, kombu,
# requests...): plain pytest hangs with nameko otherwise.
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

eventlet.monkey_patch()


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="long variants: the fault run sends 10,000 complaints (tests/e2e/test_zz_fault_run.py; "
                          "FAULT_COMPLAINTS=N wins)")
