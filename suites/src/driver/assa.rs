//! A raw ASSA client (`004_636ae579ed5d2364.txt`) over TCP on the wire:
//! both framings, incremental decoding with `protocols::assa::framing`,
//! requests matched to their responses by `seq_id`, a mailbox of every
//! other message (broadcasts, relays, PINGs) for `expect`, PINGs answered
//! as they arrive, raw byte sends for malformed input, and a pause in
//! reading (a client that stops reading, for the slow-reader limit).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use protocols::assa::framing::{encode_payload, Decoder, Framing};
use protocols::assa::{Assa, Timestamp};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::DriverError;
use crate::mutate::PlainJson;
use crate::wire::{Deframer, Link, TcpEvent, TcpReceiver, TcpSender};

/// Where an ASSA server is and how it frames messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssaEndpoint {
    /// `host:port`.
    pub addr: String,
    /// The framing both ways.
    pub framing: Framing,
}

/// What the server's messages are opened up as for the mutation layer.
type Editable = PlainJson<Assa>;

struct AssaDeframer(Decoder);

impl Deframer for AssaDeframer {
    fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        self.0.next_frame().map_err(|e| e.to_string())
    }
}

/// Numbers `seq_id`s across every client, so no two requests of a run share one.
static SEQ: AtomicU64 = AtomicU64::new(1);

/// The current time as an ISO 8601 `timestamp`.
pub fn now_timestamp() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(millis).as_str().to_owned()
}

/// What the reader task hands the client.
enum Inbound {
    Message(Value),
    Closed(String),
    Broken(DriverError),
}

/// One TCP connection to an ASSA server. A task reads the connection all
/// the time, as a real client does, and answers every PING with a PONG as
/// it arrives (unless [`AssaClient::set_auto_pong`] turned that off).
pub struct AssaClient {
    tx: Arc<Mutex<TcpSender>>,
    inbound: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    auto_pong: Arc<AtomicBool>,
    paused: watch::Sender<bool>,
    framing: Framing,
    wait: Duration,
    /// Messages read but not yet taken, in arrival order.
    mailbox: VecDeque<Value>,
    /// Why the connection ended, once it did.
    closed: Option<String>,
    /// The `user_id` stamped on requests after a successful CONNECT.
    pub user_id: Option<u64>,
}

impl AssaClient {
    /// Opens a connection; `what` names it in the record of the run.
    pub async fn open(
        link: impl Into<Link>,
        endpoint: &AssaEndpoint,
        what: &str,
    ) -> Result<AssaClient, DriverError> {
        let link = link.into();
        let wire = link.open(format!("ASSA {what}"));
        let decoder = Decoder::new(endpoint.framing);
        let (tx, rx) = wire
            .tcp::<Editable>(&endpoint.addr, Box::new(AssaDeframer(decoder)))
            .await?;
        let tx = Arc::new(Mutex::new(tx));
        let auto_pong = Arc::new(AtomicBool::new(true));
        let (to_client, inbound) = mpsc::unbounded_channel();
        let (paused, reading) = watch::channel(false);
        let reader = tokio::spawn(read_loop(
            rx,
            tx.clone(),
            endpoint.framing,
            auto_pong.clone(),
            reading,
            to_client,
        ));
        Ok(AssaClient {
            tx,
            inbound,
            reader,
            auto_pong,
            paused,
            framing: endpoint.framing,
            wait: link.wait,
            mailbox: VecDeque::new(),
            closed: None,
            user_id: None,
        })
    }

    /// Whether PINGs are answered with PONG as they arrive (on by default).
    pub fn set_auto_pong(&self, on: bool) {
        self.auto_pong.store(on, Ordering::SeqCst);
    }

    /// Stops reading the connection after the message being read, as a
    /// client that stopped reading: what the server sends stays in the
    /// kernel's buffers and the server's queue, and PINGs go unanswered.
    pub fn pause_reading(&self) {
        self.paused.send_replace(true);
    }

    /// Reads the connection again.
    pub fn resume_reading(&self) {
        self.paused.send_replace(false);
    }

    /// How long the client waits for one expected message.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// A fresh `seq_id` with a readable prefix.
    pub fn next_seq_id(prefix: &str) -> String {
        format!("{prefix}_{}", SEQ.fetch_add(1, Ordering::Relaxed))
    }

    /// A request envelope: `action`, `data` (omitted when `Null`), a
    /// timestamp, a fresh `seq_id` and the session's `user_id` once known.
    pub fn envelope(&self, action: &str, data: Value) -> Value {
        let mut m = Map::new();
        m.insert("action".into(), json!(action));
        if !data.is_null() {
            m.insert("data".into(), data);
        }
        m.insert("timestamp".into(), json!(now_timestamp()));
        m.insert(
            "seq_id".into(),
            json!(Self::next_seq_id(&action.to_ascii_lowercase())),
        );
        if let Some(id) = self.user_id {
            m.insert("user_id".into(), json!(id));
        }
        Value::Object(m)
    }

    /// Sends one message, framed.
    pub async fn send(&mut self, message: &Value) -> Result<(), DriverError> {
        let payload = message.to_string().into_bytes();
        let framed = encode_payload(self.framing, &payload);
        self.tx.lock().await.send(&payload, &framed).await
    }

    /// Sends a JSON payload (any bytes) with the target's framing around it.
    pub async fn send_payload(&mut self, payload: &[u8]) -> Result<(), DriverError> {
        let framed = encode_payload(self.framing, payload);
        self.tx.lock().await.send(payload, &framed).await
    }

    /// Sends bytes as they are, framing included (or broken).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        self.tx.lock().await.send_raw(bytes).await
    }

    /// Sends a request and returns its `seq_id`, without waiting for the answer.
    pub async fn send_request(&mut self, action: &str, data: Value) -> Result<String, DriverError> {
        let message = self.envelope(action, data);
        let seq_id = message["seq_id"].as_str().unwrap_or_default().to_owned();
        self.send(&message).await?;
        Ok(seq_id)
    }

    /// Sends a request and waits for the response carrying its `seq_id`.
    pub async fn request(&mut self, action: &str, data: Value) -> Result<Value, DriverError> {
        let seq_id = self.send_request(action, data).await?;
        self.response(&seq_id).await
    }

    /// The response (any action but a server push) whose `seq_id` is `seq_id`.
    pub async fn response(&mut self, seq_id: &str) -> Result<Value, DriverError> {
        self.expect_where(&format!("the answer to {seq_id}"), self.wait, |m| {
            m["seq_id"] == seq_id && is_answer(m)
        })
        .await
    }

    /// CONNECT with `token`: the CONNECT_RESPONSE; on success later
    /// requests carry the session's `user_id`.
    pub async fn connect(&mut self, token: &str) -> Result<Value, DriverError> {
        let response = self
            .request(
                "CONNECT",
                json!({
                    "jwt_token": token,
                    "device_info": {
                        "platform": "chatspec",
                        "app_version": env!("CARGO_PKG_VERSION"),
                        "device_id": "chatspec-suite",
                    },
                }),
            )
            .await?;
        if response["success"] == true {
            self.user_id = response["data"]["user_id"].as_u64();
        }
        Ok(response)
    }

    /// The next message whose `action` is `action`, within the wait.
    pub async fn expect(&mut self, action: &str) -> Result<Value, DriverError> {
        self.expect_within(action, self.wait).await
    }

    /// The next message whose `action` is `action`, within `within`.
    pub async fn expect_within(
        &mut self,
        action: &str,
        within: Duration,
    ) -> Result<Value, DriverError> {
        self.expect_where(action, within, |m| m["action"] == action)
            .await
    }

    /// The first message (already read or still to come within `within`)
    /// for which `pick` holds, taken out of the mailbox.
    pub async fn expect_where(
        &mut self,
        what: &str,
        within: Duration,
        pick: impl Fn(&Value) -> bool,
    ) -> Result<Value, DriverError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self.mailbox.iter().position(&pick) {
                return Ok(self.mailbox.remove(i).unwrap_or(Value::Null));
            }
            if let Some(reason) = &self.closed {
                return Err(DriverError::Closed(format!("waiting for {what}: {reason}")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.read_one(left).await? {
                return Err(DriverError::Timeout(format!(
                    "no {what} within {} ms",
                    within.as_millis()
                )));
            }
        }
    }

    /// Every message read within `within` for which `pick` holds (the
    /// client keeps reading until then; with zero, it takes what has
    /// arrived), taken out of the mailbox.
    pub async fn collect_where(
        &mut self,
        within: Duration,
        pick: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>, DriverError> {
        let deadline = Instant::now() + within;
        // With nothing left to wait, what has already arrived is still taken.
        while self.closed.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.read_one(left).await? {
                break;
            }
        }
        let (picked, kept) = self.mailbox.drain(..).partition(|m| pick(m));
        self.mailbox = kept;
        Ok(picked.into_iter().collect())
    }

    /// Messages of `action` that arrive within `within` (none is the good answer
    /// for a client that must not receive it).
    pub async fn collect(
        &mut self,
        action: &str,
        within: Duration,
    ) -> Result<Vec<Value>, DriverError> {
        self.collect_where(within, |m| m["action"] == action).await
    }

    /// Waits until the server ends the connection; `Ok(reason)`, or an
    /// error when it is still open after `within`. Messages read meanwhile
    /// stay in the mailbox.
    pub async fn expect_closed(&mut self, within: Duration) -> Result<String, DriverError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(reason) = &self.closed {
                return Ok(reason.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.read_one(left).await? {
                return Err(DriverError::Protocol(format!(
                    "the connection is still open after {} ms",
                    within.as_millis()
                )));
            }
        }
    }

    /// Whether the server ended the connection (as far as read).
    pub fn closed(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Every message read and not yet taken.
    pub fn mailbox(&self) -> impl Iterator<Item = &Value> {
        self.mailbox.iter()
    }

    /// Closes the client's sending side (the server reads the end of the stream).
    pub async fn close(&mut self) {
        self.tx.lock().await.close().await;
    }

    /// Takes one message within `within` into the mailbox: false when
    /// nothing came; the end of the connection is recorded, not an error.
    async fn read_one(&mut self, within: Duration) -> Result<bool, DriverError> {
        if self.closed.is_some() {
            return Ok(false);
        }
        match tokio::time::timeout(within, self.inbound.recv()).await {
            Err(_) => Ok(false),
            Ok(Some(Inbound::Message(value))) => {
                self.mailbox.push_back(value);
                Ok(true)
            }
            Ok(Some(Inbound::Closed(reason))) => {
                self.closed = Some(reason);
                Ok(true)
            }
            Ok(Some(Inbound::Broken(e))) => Err(e),
            Ok(None) => {
                self.closed = Some("the reader stopped".to_owned());
                Ok(true)
            }
        }
    }
}

impl Drop for AssaClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Reads the connection until it ends: every message to the client, every
/// PING answered at once while `auto_pong` is on; nothing while `paused`.
async fn read_loop(
    mut rx: TcpReceiver<Editable>,
    tx: Arc<Mutex<TcpSender>>,
    framing: Framing,
    auto_pong: Arc<AtomicBool>,
    mut paused: watch::Receiver<bool>,
    to_client: mpsc::UnboundedSender<Inbound>,
) {
    loop {
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let inbound = match rx.recv().await {
            TcpEvent::Closed(reason) => {
                let _ = to_client.send(Inbound::Closed(reason));
                return;
            }
            TcpEvent::Message(message) => {
                let bytes = match &message {
                    crate::mutate::Message::Text(t) => t.as_bytes(),
                    crate::mutate::Message::Binary(b) => b.as_slice(),
                };
                match serde_json::from_slice::<Value>(bytes) {
                    Err(e) => Inbound::Broken(DriverError::Protocol(format!(
                        "the server sent a message that is not JSON: {e}"
                    ))),
                    Ok(value) => {
                        if auto_pong.load(Ordering::SeqCst) && value["action"] == "PING" {
                            let pong = json!({
                                "action": "PONG",
                                "timestamp": now_timestamp(),
                                "seq_id": value["seq_id"],
                            })
                            .to_string()
                            .into_bytes();
                            let framed = encode_payload(framing, &pong);
                            // A failed write shows as the end of the connection.
                            let _ = tx.lock().await.send(&pong, &framed).await;
                        }
                        Inbound::Message(value)
                    }
                }
            }
        };
        if to_client.send(inbound).is_err() {
            return;
        }
    }
}

/// Whether a server message answers a request (a response or an ERROR),
/// rather than a push (broadcast, relay, PING).
pub fn is_answer(message: &Value) -> bool {
    message["action"]
        .as_str()
        .is_some_and(|a| a.ends_with("_RESPONSE") || a == "ERROR")
}
