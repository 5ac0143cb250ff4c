//! Circles: users, devices, circles, conversations and their membership provisioned through the admin API, and a message sent over the socket, survive a SIGKILL of `chatspec serve`; after the restart the users and the device authenticate and join again, and the message from before is there to be updated.
//!
//! The protocol has no history channel, so the message is found again by
//! its update event (and the admin API's `GET /messages/{id}`). The server
//! is killed the moment the message's `success` arrives: nothing else waits
//! for its commit.

use reference_server::ListenerName;
use reqwest::Method;
use serde_json::{json, Value};

use super::stock::Stock;
use super::{scratch, serve, write_config, Admin};

const LISTENERS: [ListenerName; 2] = [ListenerName::Circles, ListenerName::Admin];
const EVENTS: [&str; 3] = ["success", "error", "message"];

fn id_of(answer: &Value) -> u64 {
    answer["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id in {answer}"))
}

fn token_of(answer: &Value) -> String {
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {answer}"))
        .to_owned()
}

/// A client authenticated with `token`, in `room` (`conversation_id` or `circle_id`).
async fn joined(url: &str, token: &str, rooms: &[(&str, &str, u64)]) -> Stock {
    let mut stock = Stock::connect(url, &EVENTS).await;
    stock
        .request("authenticate", json!({ "token": token }), "success")
        .await;
    for (channel, field, id) in rooms {
        stock
            .request(channel, json!({ *field: id }), "success")
            .await;
    }
    stock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_state_and_messages_survive_sigkill() {
    let dir = scratch("circles");
    let config = write_config(&dir, &LISTENERS, "");

    let served = serve(&config, &LISTENERS);
    let admin = Admin::new(served.addr(ListenerName::Admin), "/circles");
    let a = admin.call(Method::POST, "/users", Some(json!({}))).await;
    let b = admin
        .call(
            Method::POST,
            "/users",
            Some(json!({ "email": "b@circles.example" })),
        )
        .await;
    let (a_id, b_id) = (id_of(&a), id_of(&b));
    let circle = id_of(
        &admin
            .call(
                Method::POST,
                "/circles",
                Some(json!({ "name": "family", "members": [a_id, b_id] })),
            )
            .await,
    );
    let conversation = id_of(
        &admin
            .call(
                Method::POST,
                "/conversations",
                Some(json!({ "circle_id": circle, "name": "talk", "members": [a_id, b_id] })),
            )
            .await,
    );
    let device = admin
        .call(
            Method::POST,
            "/devices",
            Some(json!({ "circle_id": circle, "name": "tablet" })),
        )
        .await;
    let paths = [
        format!("/conversations/{conversation}/devices/{}", id_of(&device)),
        format!("/conversations/{conversation}/admins/{b_id}"),
    ];
    for path in &paths {
        admin.call(Method::PUT, path, None).await;
    }
    let rename = json!({ "name": "renamed" });
    admin
        .call(
            Method::POST,
            &format!("/conversations/{conversation}/update"),
            Some(rename),
        )
        .await;
    let url = format!("http://{}", served.addr(ListenerName::Circles));
    let in_conversation = [("join_conversation", "conversation_id", conversation)];
    let mut sa = joined(&url, &token_of(&a), &in_conversation).await;
    let text = json!({ "conversation_id": conversation, "text_message": "before the restart" });
    let sent = sa.request("message", text, "success").await;
    let message = sent["message_id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no message_id in {sent}"));
    // Killed as soon as the success arrives: a message is answered only once
    // it is stored (`circles:answer-before-commit` opens the gap this closes).
    served.kill();
    sa.close().await;

    let served = serve(&config, &LISTENERS);
    let admin = Admin::new(served.addr(ListenerName::Admin), "/circles");
    let stored = admin
        .call(Method::GET, &format!("/conversations/{conversation}"), None)
        .await;
    assert_eq!(stored["name"], "renamed", "{stored}");
    assert_eq!(
        stored["members"],
        json!({ a_id.to_string(): false, b_id.to_string(): true }),
        "{stored}"
    );
    assert_eq!(stored["devices"], json!([id_of(&device)]), "{stored}");
    let kept = admin
        .call(Method::GET, &format!("/messages/{message}"), None)
        .await;
    assert_eq!(kept["text"], "before the restart", "{kept}");

    // The users, the device and their memberships, through the socket protocol.
    let url = format!("http://{}", served.addr(ListenerName::Circles));
    let in_both = [
        ("join_circle", "circle_id", circle),
        ("join_conversation", "conversation_id", conversation),
    ];
    let mut sb = joined(&url, &token_of(&b), &in_both).await;
    let mut sd = joined(&url, &token_of(&device), &in_conversation).await;
    let stranger = admin.call(Method::POST, "/users", Some(json!({}))).await;
    assert!(
        id_of(&stranger) > message,
        "ids go on after the earlier ones: {stranger}"
    );
    let mut so = joined(&url, &token_of(&stranger), &[]).await;
    let refused = so
        .request(
            "join_conversation",
            json!({ "conversation_id": conversation }),
            "error",
        )
        .await;
    assert!(
        refused.as_str().is_some_and(|r| r.contains("not a member")),
        "{refused}"
    );

    // The message from before the restart is there: its update reaches the conversation.
    admin
        .call(
            Method::PUT,
            &format!("/messages/{message}"),
            Some(json!({ "text": "edited after the restart" })),
        )
        .await;
    let update =
        json!({ "conversation_id": conversation, "message_id": message, "event": "update" });
    assert_eq!(sb.next("message").await, update);
    assert_eq!(sd.next("message").await, update);

    for stock in [sb, sd, so] {
        stock.close().await;
    }
    served.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
