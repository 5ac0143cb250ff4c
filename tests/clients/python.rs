//! The python-socketio client (PyPI, `peers/clients/python/client.py`, in the python-socketio peer's virtualenv) against the embedded echo app.

use super::{python_script, run_script, Transport};

/// `python client.py URL TRANSPORT` with the python-socketio peer's interpreter.
async fn run(transport: Transport) {
    run_script("python-socketio", transport, python_script("client.py")).await;
}

per_transport!(run);
