//! `chatspec serve` killed with SIGKILL and restarted on the same data directory: ASSA's acknowledged messages (`assa`), Chatpot's provisioned members, rooms and membership (`chatpot`), Circles' users, circles, conversations and messages (`circles`) are all found again through the socket protocols.
//!
//! Each test runs the binary as a child process with only the listeners it
//! needs, on free ports, storing into a scratch directory of its own.

mod assa;
mod chatpot;
mod circles;
mod stock;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reference_server::ListenerName;

/// How long a test waits for the server to listen, or for one answer.
pub const WAIT: Duration = Duration::from_secs(20);

/// The token secret and the admin secret the tests configure.
pub const JWT_SECRET: &str = "durability-test-secret";
pub const ADMIN_SECRET: &str = "durability-admin-secret";

/// A fresh scratch directory for the test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("chatspec-durability-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A server configuration with only the listeners `enabled`, each on a
/// free port, storing into `dir/data`, with `extra` TOML appended.
pub fn write_config(dir: &Path, enabled: &[ListenerName], extra: &str) -> PathBuf {
    let config = dir.join("server.toml");
    let mut text = format!(
        "[auth]\nsecret = \"{JWT_SECRET}\"\n\
         [admin]\nsecret = \"{ADMIN_SECRET}\"\n\
         [storage]\ndata_dir = {:?}\n{extra}",
        dir.join("data")
    );
    for name in ListenerName::ALL {
        let on = enabled.contains(&name);
        text.push_str(&format!("[listeners.{name}]\nport = 0\nenabled = {on}\n"));
    }
    std::fs::write(&config, text).unwrap();
    config
}

/// `chatspec token` with the configuration's secret.
pub fn token(config: &Path, user: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chatspec"))
        .args(["token", "--user", &user.to_string(), "--config"])
        .arg(config)
        .output()
        .expect("chatspec token runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A `chatspec serve` child and the address of every listener it logged.
pub struct Served {
    pub child: Child,
    addrs: HashMap<String, String>,
}

impl Served {
    /// The `host:port` of the listener `name`.
    pub fn addr(&self, name: ListenerName) -> &str {
        self.addrs
            .get(name.as_str())
            .unwrap_or_else(|| panic!("the server logged no {name} listener"))
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

/// Starts `chatspec serve --config FILE` and waits until every listener of
/// `listening` has logged its address.
pub fn serve(config: &Path, listening: &[ListenerName]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatspec"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chatspec serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps reading, so the server never writes to a closed pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !line.contains("listening") {
                continue;
            }
            let field = |key: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .map(str::to_owned)
            };
            if let (Some(name), Some(addr)) = (field("listener="), field("addr=")) {
                let _ = tx.send((name, addr));
            }
        }
    });
    let mut addrs = HashMap::new();
    while !listening.iter().all(|n| addrs.contains_key(n.as_str())) {
        let (name, addr) = rx
            .recv_timeout(WAIT)
            .expect("the server logs its listeners in time");
        addrs.insert(name, addr);
    }
    Served { child, addrs }
}

/// The admin API of a served child, as the tests call it.
pub struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    /// The admin API at `addr`, under `prefix` (`/chatpot`).
    pub fn new(addr: &str, prefix: &str) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: format!("http://{addr}{prefix}"),
        }
    }

    /// `method path` with `body`; the answer's status and JSON (null when empty).
    pub async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(ADMIN_SECRET);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = tokio::time::timeout(WAIT, request.send())
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("the admin API's body");
        let value = match text.is_empty() {
            true => serde_json::Value::Null,
            false => serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}")),
        };
        (status, value)
    }

    /// `method path` with `body`, which must succeed; the answer's JSON.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, value) = self.try_call(method.clone(), path, body).await;
        assert!(
            status.is_success(),
            "{method} {path}: HTTP {status}: {value}"
        );
        value
    }
}
