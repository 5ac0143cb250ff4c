//! Stock Socket.IO clients against the embedded echo app and the chat apps (`sockets`, `chatpot`, `circles`), over WebSocket only, polling only and polling then upgrade.
//!
//! Each client (socket.io-client 4.8 and 2.x from npm, python-socketio from
//! PyPI, rust_socketio) runs one scenario: connect to `/` with auth (the
//! `auth` event echoes it), text, acks and binary both ways, `/custom` on the
//! same session, and the connect error of an unknown namespace. The Node and
//! python clients are scripts under `peers/clients/` (installed by
//! `scripts/install-peers.sh`); each prints `ok <step>` per step and
//! `FAIL <step>: <what differed>` on the first one that does not hold.
//!
//! Against the sockets listener (`sockets.rs`) each client runs the memo's
//! chat instead: two users register, a taken name is refused, a message
//! claiming another sender reaches both from its real sender, and a user
//! who leaves is announced (`peers/clients/*/sockets.*` for Node and
//! python).
//!
//! Every transport passes: the binary answer to a pending poll (v4) and the
//! Engine.IO 3 payload encodings, which the socketioxide-based echo app got
//! wrong, are the transport's own now (`protocols::session`).

/// The three tests of one client: `websocket`, `polling` and
/// `polling_then_upgrade`, each `$run(transport).await`.
macro_rules! per_transport {
    ($run:expr) => {
        #[tokio::test]
        async fn websocket() {
            ($run)($crate::clients::Transport::WebSocket).await;
        }

        #[tokio::test]
        async fn polling() {
            ($run)($crate::clients::Transport::Polling).await;
        }

        #[tokio::test]
        async fn polling_then_upgrade() {
            ($run)($crate::clients::Transport::Upgrade).await;
        }
    };
}

mod chatpot;
mod circles;
mod node;
mod python;
mod rust_socketio;
mod sockets;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reference_server::{Config, ListenerName, Profile, Running};

/// The bound of one client's whole run (the scripts bound themselves at 30 s).
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The transports a client is told to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// WebSocket only.
    WebSocket,
    /// HTTP long-polling only.
    Polling,
    /// Long-polling, then the upgrade to WebSocket.
    Upgrade,
}

impl Transport {
    /// The scripts' argument for it.
    pub fn arg(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Polling => "polling",
            Transport::Upgrade => "upgrade",
        }
    }
}

/// The embedded reference server (free loopback ports), every Socket.IO
/// app with the test profile's timings but a patient pingTimeout
/// (`Profile::test_patient`): the tests check the clients, not the
/// machine's speed, and the test profile's 200 ms is shorter than one HTTP
/// exchange on a loaded one (rust_socketio lost its session to it as
/// "Called an action before the connection was established"). Pings still
/// come every 300 ms.
async fn server() -> Running {
    let mut config = Config::embedded();
    config.echo.profile = Profile::test_patient();
    tokio::time::timeout(Duration::from_secs(5), reference_server::start(config))
        .await
        .expect("the reference server starts in time")
        .expect("the reference server starts")
}

/// `http://ADDR` of the echo app.
fn echo_url(running: &Running) -> String {
    listener_url(running, ListenerName::Echo)
}

/// `http://ADDR` of a listener.
fn listener_url(running: &Running, listener: ListenerName) -> String {
    let addr = running
        .addrs
        .get(listener)
        .unwrap_or_else(|| panic!("the {listener} listener runs"));
    format!("http://{addr}")
}

/// A path in the project.
fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Fails unless `path` exists, telling how to install what is missing.
fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{} is missing: {what} is not installed; run scripts/install-peers.sh (scripts/test.sh \
         does); this test does not skip without it",
        path.display()
    );
}

/// Panics with the client's report unless it passed.
fn assert_passed(client: &str, transport: Transport, failure: Option<(&str, &str)>, log: &str) {
    let Some((step, what)) = failure else {
        return;
    };
    panic!(
        "{client} over {}: step `{step}` failed: {what}\n--- the client's output ---\n{log}",
        transport.arg()
    );
}

/// A stock client's script, ready to run: its interpreter and first arguments.
struct Script {
    program: PathBuf,
    args: Vec<String>,
}

/// `node peers/clients/node/NAME VERSION` with socket.io-client `version`
/// (4 or 2), which must be installed.
fn node_script(name: &str, version: &str) -> Script {
    let dir = project("peers/clients/node");
    require(
        &dir.join(format!("node_modules/sio{version}/package.json")),
        &format!("socket.io-client {version} (peers/clients/node)"),
    );
    let script = dir.join(name);
    Script {
        program: "node".into(),
        args: vec![utf8(&script), version.to_owned()],
    }
}

/// `python peers/clients/python/NAME` with the python-socketio peer's
/// interpreter, which must be installed.
fn python_script(name: &str) -> Script {
    let python = project("peers/socketio-python/.venv/bin/python");
    require(
        &python,
        "python-socketio (peers/socketio-python's virtualenv)",
    );
    let script = project(&format!("peers/clients/python/{name}"));
    Script {
        program: python,
        args: vec![utf8(&script)],
    }
}

fn utf8(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Runs a client script against the embedded echo app: `program args... URL
/// TRANSPORT`, within [`RUN_LIMIT`], and asserts that it passed.
async fn run_script(client: &str, transport: Transport, script: Script) {
    let tail = |running: &Running| vec![echo_url(running), transport.arg().to_owned()];
    run_script_against(client, transport, script, tail).await;
}

/// Runs a client script against the embedded server: `program args...
/// TAIL...`, the tail made from the running server (its URLs), within
/// [`RUN_LIMIT`], and asserts that it passed.
async fn run_script_against(
    client: &str,
    transport: Transport,
    script: Script,
    tail: impl FnOnce(&Running) -> Vec<String>,
) {
    let running = server().await;
    let Script { program, mut args } = script;
    args.extend(tail(&running));
    run_child(client, transport, &program, &args).await;
    running.shutdown().await;
}

/// Runs `program args...` within [`RUN_LIMIT`] and asserts that it passed:
/// exit 0 after `ok all`, or the step of its `FAIL <step>: <what>` line.
async fn run_child(client: &str, transport: Transport, program: &Path, args: &[String]) {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, child).await;
    let output = output
        .unwrap_or_else(|_| {
            panic!(
                "{client} over {} ran longer than {RUN_LIMIT:?}",
                transport.arg()
            )
        })
        .unwrap_or_else(|e| panic!("{} could not be started: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = format!("{stdout}{stderr}");
    if output.status.success() {
        assert!(
            stdout.lines().any(|l| l.starts_with("ok all")),
            "{client} over {} exited 0 without finishing:\n{log}",
            transport.arg()
        );
        return;
    }
    // `FAIL <step>: <what>` names the step; without one the script broke.
    let failed = stderr.lines().find_map(|l| l.strip_prefix("FAIL "));
    let (step, what) = failed
        .and_then(|l| l.split_once(": "))
        .unwrap_or(("(no FAIL line)", "the client exited with an error"));
    let what = format!("{what} ({})", output.status);
    assert_passed(client, transport, Some((step, &what)), &log);
}
