"""Builds the front over moto and serves it on a port the operating system chooses."""

import os
import threading

from . import ec2_rules, recording, speed, state
from .app import Front


def application():
    """The front over a fresh moto server application."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication
    from moto.server import create_backend_app

    ec2_rules.install()
    speed.install()
    recording.install()
    return Front(DomainDispatcherApplication(create_backend_app))


def make(host, port, settings):
    """A werkzeug server bound to (host, port); port 0 lets the system choose."""
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from werkzeug.serving import make_server

    state.CONFIG.update(settings)
    return make_server(host, port, application(), threaded=True, request_handler=MotoRequestHandler)


def serve(host, port, settings, announce):
    server = make(host, port, settings)
    announce(f"http://{host}:{server.server_port}")
    server.serve_forever()


def start_in_thread(host="127.0.0.1", settings=None):
    """For tests: a running server and its URL."""
    server = make(host, 0, settings or {})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"
