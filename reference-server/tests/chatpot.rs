//! The chatpot listener over real WebSockets and its admin routes: one scenario (status, refusals, health, logins, delivery to members and to nobody else, live membership changes) on the clean listener, and each `chatpot:` fault changing what the scenario sees.

use std::time::Duration;

use reference_server::chatpot::ChatpotFault;
use reference_server::services::admin::DEV_ADMIN_SECRET;
use reference_server::{Config, Fault, ListenerName, Profile};
use serde_json::{json, Value};

use crate::support::{http, Frame, Ws};

/// How long a socket listens for an event that must not come.
const QUIET: Duration = Duration::from_millis(300);

/// The next Socket.IO event within [`QUIET`] (pings answered), as `name payload`.
async fn next_event(ws: &mut Ws) -> Option<(String, Value)> {
    loop {
        match ws.recv_raw_within(QUIET).await? {
            Frame::Text(t) if t == "2" => ws.send("3").await,
            Frame::Text(t) if t.starts_with("42") => {
                let v: Value = serde_json::from_str(&t[2..]).expect("an event's JSON");
                return Some((v[0].as_str().expect("a name").to_owned(), v[1].clone()));
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// A socket connected to `/` with Engine.IO 4.
async fn socket(addr: std::net::SocketAddr) -> Ws {
    let mut ws = Ws::connect(addr, 4).await;
    ws.send("40").await;
    assert!(ws.recv_text().await.starts_with("40{"));
    ws
}

/// Emits `name` with `payload`; the answer, summed up.
async fn ask(ws: &mut Ws, name: &str, payload: Value) -> String {
    ws.send(&format!("42{}", json!([name, payload]))).await;
    match next_event(ws).await {
        None => "nothing".to_owned(),
        Some((name, p)) if name == "server_error" => {
            format!("server_error {} {}", p["code"], p["message"])
        }
        Some((name, p)) => format!("{name} {p}"),
    }
}

/// The next `message`, summed up: its content and whether its fields are as documented.
async fn message(ws: &mut Ws) -> String {
    match next_event(ws).await {
        None => "nothing".to_owned(),
        Some((name, m)) => {
            let id = m["message_id"].as_str().unwrap_or("");
            let now_ms = 1_000_000_000_000u64;
            format!(
                "{name} {} id32={} ms={} ja={}",
                m["content"],
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                m["sent_time"].as_u64().is_some_and(|t| t > now_ms),
                m["from"]["nick"]["ja"].is_string(),
            )
        }
    }
}

struct Admin(String);

impl Admin {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = http()
            .request(method, format!("{}{path}", self.0))
            .bearer_auth(DEV_ADMIN_SECRET);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the admin API answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let text = response.text().await.expect("a body");
        if text.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&text).expect("the admin API answers JSON")
    }

    async fn token(&self, path: &str) -> String {
        self.call(reqwest::Method::POST, path, Some(json!({})))
            .await["token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    async fn join(&self, room: &str, member: &str) {
        let path = format!("/rooms/{room}/members/{member}");
        self.call(reqwest::Method::PUT, &path, None).await;
    }

    async fn send(&self, room: &str, from: &str, content: &str) {
        let path = format!("/rooms/{room}/messages");
        let body = json!({ "from": from, "content": content });
        self.call(reqwest::Method::POST, &path, Some(body)).await;
    }
}

/// What one run of the scenario saw, a line per observation.
async fn scenario(faults: &[ChatpotFault]) -> Vec<String> {
    let mut config = Config::embedded();
    config.faults = faults.iter().copied().map(Fault::Chatpot).collect();
    // Sockets wait their turn to be read: no heartbeat may close them meanwhile.
    config.chatpot.profile = Profile::socketio_default();
    let s = reference_server::start(config)
        .await
        .expect("the server starts");
    let node = s.addrs.get(ListenerName::Chatpot).expect("chatpot runs");
    let admin = Admin(format!(
        "http://{}/chatpot",
        s.addrs.get(ListenerName::Admin).expect("admin runs")
    ));
    let mut seen = Vec::new();

    let mut a = socket(node).await;
    let status = http()
        .get(format!("http://{node}/status"))
        .send()
        .await
        .expect("status")
        .text()
        .await
        .expect("a status body");
    let status: Value = serde_json::from_str(&status).expect("status JSON");
    seen.push(format!(
        "status host={} port={} connections={}",
        status["host"] == format!("http://{}", node.ip()).as_str(),
        status["port"] == node.port(),
        status["num_connection"]
    ));
    seen.push(ask(&mut a, "postinit_req", json!({})).await);
    seen.push(ask(&mut a, "postinit_req", json!({ "token": "0".repeat(48) })).await);
    seen.push(ask(&mut a, "health_req", json!({})).await);

    let (room, other) = (admin.token("/rooms").await, admin.token("/rooms").await);
    let mut members = Vec::new();
    for _ in 0..4 {
        members.push(admin.token("/members").await);
    }
    let [alice, bob, carol, dave] = &members[..] else {
        unreachable!("four members")
    };
    admin.join(&room, alice).await;
    admin.join(&room, bob).await;
    admin.join(&other, carol).await;
    seen.push(ask(&mut a, "postinit_req", json!({ "token": alice })).await);
    let (mut b1, mut b2, mut c, mut d) = (
        socket(node).await,
        socket(node).await,
        socket(node).await,
        socket(node).await,
    );
    let mut anonymous = socket(node).await;
    for (ws, token) in [
        (&mut b1, bob),
        (&mut b2, bob),
        (&mut c, carol),
        (&mut d, dave),
    ] {
        ask(ws, "postinit_req", json!({ "token": token })).await;
    }
    admin.join(&room, dave).await;

    admin.send(&room, alice, "one").await;
    for (who, ws) in [
        ("sender", &mut a),
        ("member", &mut b1),
        ("member's second socket", &mut b2),
        ("member joined live", &mut d),
        ("other room", &mut c),
        ("no token", &mut anonymous),
    ] {
        seen.push(format!("{who}: {}", message(ws).await));
    }
    admin
        .call(
            reqwest::Method::DELETE,
            &format!("/rooms/{room}/members/{bob}"),
            None,
        )
        .await;
    admin.send(&room, alice, "two").await;
    seen.push(format!("left: {}", message(&mut b1).await));
    s.shutdown().await;
    seen
}

#[tokio::test]
async fn the_clean_listener_serves_the_document() {
    let message = "message \"one\" id32=true ms=true ja=true";
    assert_eq!(
        scenario(&[]).await,
        [
            "status host=true port=true connections=1".to_owned(),
            r#"server_error "INVALID_PARAM" "token is required""#.to_owned(),
            r#"server_error "INVALID_PARAM" "invalid member_token""#.to_owned(),
            "health_res {}".to_owned(),
            r#"postinit_res {"success":true}"#.to_owned(),
            format!("sender: {message}"),
            format!("member: {message}"),
            format!("member's second socket: {message}"),
            format!("member joined live: {message}"),
            "other room: nothing".to_owned(),
            "no token: nothing".to_owned(),
            "left: nothing".to_owned(),
        ]
    );
}

#[tokio::test]
async fn every_chatpot_fault_changes_what_the_scenario_sees() {
    let clean = scenario(&[]).await;
    let runs = ChatpotFault::ALL.map(|f| async move { (f, scenario(&[f]).await) });
    for (fault, seen) in futures_util::future::join_all(runs).await {
        assert_ne!(seen, clean, "{fault} changes nothing");
    }
}
