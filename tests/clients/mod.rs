//! Stock Socket.IO clients against the embedded echo app, over WebSocket only, polling only and polling then upgrade.
//!
//! Each client (socket.io-client 4.8 and 2.x from npm, python-socketio from
//! PyPI, rust_socketio) runs one scenario: connect to `/` with auth (the
//! `auth` event echoes it), text, acks and binary both ways, `/custom` on the
//! same session, and the connect error of an unknown namespace. The Node and
//! python clients are scripts under `peers/clients/` (installed by
//! `scripts/install-peers.sh`); each prints `ok <step>` per step and
//! `FAIL <step>: <what differed>` on the first one that does not hold.
//!
//! A failure the current reference server is known to cause is named in the
//! assertion message ([`KNOWN_DEFECTS`]): the test still fails, and passes
//! once the server is fixed.

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

mod node;
mod python;
mod rust_socketio;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reference_server::{Config, ListenerName, Running};

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

/// A failure a stock client meets because of a known defect of the current
/// reference server (socketioxide / engineioxide 0.15.2).
struct KnownDefect {
    /// The client, as the tests name it.
    client: &'static str,
    transport: Transport,
    /// The failing step, as the client reports it.
    step: &'static str,
    why: &'static str,
}

/// The v4 polling defect: a binary answer to a poll already pending.
const PENDING_POLL_BINARY: &str = "the server writes a binary packet's attachments into the \
     answer to a poll that is already pending without the `\\x1e` separator \
     (`451-[...]bAQID`), so the client cannot decode the event";

/// The v3 polling defect: mixed encodings in one payload.
const EIO3_PAYLOAD_BINARY: &str = "the server writes the attachments of an Engine.IO 3 polling \
     payload in the Engine.IO 4 base64 form (`9:bAQID/w==` instead of `10:b4AQID/w==`), so the \
     client cannot decode the event (the suite's socketio.v3.polling.binary-round-trip)";

/// Every failure of these tests the current reference server is known to cause.
const KNOWN_DEFECTS: &[KnownDefect] = &[
    KnownDefect {
        client: "socket.io-client 4",
        transport: Transport::Polling,
        step: "/ binary message",
        why: PENDING_POLL_BINARY,
    },
    KnownDefect {
        client: "socket.io-client 2",
        transport: Transport::Polling,
        step: "/ binary message",
        why: EIO3_PAYLOAD_BINARY,
    },
    KnownDefect {
        client: "python-socketio",
        transport: Transport::Polling,
        step: "/ binary message",
        why: PENDING_POLL_BINARY,
    },
    KnownDefect {
        client: "rust_socketio",
        transport: Transport::Polling,
        step: "/ binary message",
        why: PENDING_POLL_BINARY,
    },
];

/// The embedded reference server (free loopback ports, the test profile).
async fn server() -> Running {
    tokio::time::timeout(
        Duration::from_secs(5),
        reference_server::start(Config::embedded()),
    )
    .await
    .expect("the reference server starts in time")
    .expect("the reference server starts")
}

/// `http://ADDR` of the echo app.
fn echo_url(running: &Running) -> String {
    let addr = running
        .addrs
        .get(ListenerName::Echo)
        .expect("the echo app runs");
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

/// Panics with the client's report unless it passed, naming the known
/// defect of the current server the failing step runs into, if any.
fn assert_passed(client: &str, transport: Transport, failure: Option<(&str, &str)>, log: &str) {
    let Some((step, what)) = failure else {
        return;
    };
    let known = KNOWN_DEFECTS
        .iter()
        .find(|k| k.client == client && k.transport == transport && k.step == step)
        .map_or(String::new(), |k| {
            format!(
                "\nKNOWN DEFECT of the current reference server: {}. This test fails until the \
                 echo app runs on the project's own transport (protocols::session).",
                k.why
            )
        });
    panic!(
        "{client} over {}: step `{step}` failed: {what}{known}\n--- the client's output ---\n{log}",
        transport.arg()
    );
}

/// Runs a client script against the embedded echo app: `program args... URL
/// TRANSPORT`, within [`RUN_LIMIT`], and asserts that it passed.
async fn run_script(client: &str, transport: Transport, program: &Path, args: &[&str]) {
    let running = server().await;
    let url = echo_url(&running);
    let child = tokio::process::Command::new(program)
        .args(args)
        .arg(&url)
        .arg(transport.arg())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, child).await;
    running.shutdown().await;
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
