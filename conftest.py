# Must run before anything imports socket/threading users (nameko, kombu,
# requests...): plain pytest hangs with nameko otherwise.
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

eventlet.monkey_patch()
