//! The python-socketio client (PyPI, `peers/clients/python/client.py`, in the python-socketio peer's virtualenv) against the embedded echo app.

use super::{project, require, run_script, Transport};

/// `python client.py URL TRANSPORT` with the python-socketio peer's interpreter.
async fn run(transport: Transport) {
    let python = project("peers/socketio-python/.venv/bin/python");
    require(
        &python,
        "python-socketio (peers/socketio-python's virtualenv)",
    );
    let script = project("peers/clients/python/client.py");
    run_script(
        "python-socketio",
        transport,
        &python,
        &[script.to_str().expect("a UTF-8 path")],
    )
    .await;
}

per_transport!(run);
