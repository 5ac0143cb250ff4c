//! Chatpot: members, rooms and membership provisioned through the admin API survive a SIGKILL of `chatspec serve`; after the restart the members' tokens pass `postinit_req` and a room's messages reach its members, and only them.

use reference_server::ListenerName;
use reqwest::Method;
use serde_json::{json, Value};

use super::stock::Stock;
use super::{scratch, serve, write_config, Admin};

const LISTENERS: [ListenerName; 2] = [ListenerName::Chatpot, ListenerName::Admin];
const EVENTS: [&str; 3] = ["postinit_res", "server_error", "message"];

fn token_of(answer: &Value) -> String {
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {answer}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_members_rooms_and_membership_survive_sigkill() {
    let dir = scratch("chatpot");
    let config = write_config(&dir, &LISTENERS, "");

    let served = serve(&config, &LISTENERS);
    let admin = Admin::new(served.addr(ListenerName::Admin), "/chatpot");
    let nick = json!({ "en": "Alice", "ko": "앨리스", "ja": "アリス" });
    let alice = admin
        .call(
            Method::POST,
            "/members",
            Some(json!({ "nick": nick, "region": "JP" })),
        )
        .await;
    let alice = token_of(&alice);
    let bob = token_of(&admin.call(Method::POST, "/members", Some(json!({}))).await);
    let room = token_of(&admin.call(Method::POST, "/rooms", None).await);
    let other = token_of(&admin.call(Method::POST, "/rooms", None).await);
    for (method, room, member) in [
        (Method::PUT, &room, &alice),
        (Method::PUT, &room, &bob),
        (Method::DELETE, &room, &bob),
        (Method::PUT, &other, &bob),
    ] {
        let path = format!("/rooms/{room}/members/{member}");
        admin.call(method, &path, None).await;
    }
    // Every answer above came after its commit: nothing is lost to the kill.
    served.kill();

    let served = serve(&config, &LISTENERS);
    let admin = Admin::new(served.addr(ListenerName::Admin), "/chatpot");
    let members = admin
        .call(Method::GET, &format!("/rooms/{room}"), None)
        .await;
    assert_eq!(members["members"], json!([alice]), "{members}");

    let url = format!("http://{}", served.addr(ListenerName::Chatpot));
    let mut a = Stock::connect(&url, &EVENTS).await;
    let mut b = Stock::connect(&url, &EVENTS).await;
    let refused = b
        .request(
            "postinit_req",
            json!({ "token": "0".repeat(48) }),
            "server_error",
        )
        .await;
    assert_eq!(refused["code"], "INVALID_PARAM", "{refused}");
    for (stock, token) in [(&mut a, &alice), (&mut b, &bob)] {
        let answer = stock
            .request("postinit_req", json!({ "token": token }), "postinit_res")
            .await;
        assert_eq!(
            answer,
            json!({ "success": true }),
            "a member from before the restart"
        );
    }

    // Alice is in `room`, Bob left it before the restart and is in `other`.
    let sent = admin
        .call(
            Method::POST,
            &format!("/rooms/{room}/messages"),
            Some(json!({ "from": alice, "content": "after the restart" })),
        )
        .await;
    assert_eq!(sent["delivered"], 1, "to Alice's one socket: {sent}");
    let m = a.next("message").await;
    assert_eq!(m["content"], "after the restart", "{m}");
    assert_eq!(m["from"]["nick"], nick, "the stored profile: {m}");
    assert_eq!(m["from"]["region"], "JP", "the stored profile: {m}");
    assert_eq!(m["to"], json!({ "type": "ROOM", "token": room }), "{m}");
    admin
        .call(
            Method::POST,
            &format!("/rooms/{other}/messages"),
            Some(json!({ "from": bob, "content": "in the other room" })),
        )
        .await;
    // Bob's first message is this one: the one of the room he left never came.
    let m = b.next("message").await;
    assert_eq!(m["content"], "in the other room", "{m}");

    a.close().await;
    b.close().await;
    served.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
