//! ASSA: `chatspec serve` killed with SIGKILL in the middle of the traffic, then
//! restarted on the same data directory: every message acknowledged to its
//! sender is still there, and none is stored twice.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use reference_server::ListenerName;
use serde_json::{json, Value};

use super::{scratch, serve, token, write_config, WAIT};

/// Messages sent in one burst; the server is killed after the 100th acknowledgement.
const TOTAL: usize = 2_000;
const KILL_AFTER: usize = 100;

/// One ASSA request as a line of the JSON stream.
fn request(action: &str, seq: usize, data: Value) -> Vec<u8> {
    let mut line = json!({
        "action": action,
        "data": data,
        "timestamp": "2026-12-01T12:00:00.000Z",
        "seq_id": format!("{action}-{seq}"),
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// Connects and authenticates user `1`; returns the reader and the writer.
fn login(addr: &str, token: &str) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    writer
        .write_all(&request(
            "CONNECT",
            0,
            json!({ "jwt_token": token, "device_info": { "platform": "test" } }),
        ))
        .unwrap();
    let answer = next_answer(&mut reader, "CONNECT_RESPONSE").expect("a CONNECT_RESPONSE");
    assert_eq!(answer["success"], true, "{answer}");
    (reader, writer)
}

/// The next message with `action`, skipping others (PINGs are answered by
/// nobody here: the test is far shorter than the document's PONG timeout).
fn next_answer(reader: &mut BufReader<TcpStream>, action: &str) -> Option<Value> {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {
                let v: Value = serde_json::from_str(&line).expect("the server writes JSON lines");
                if v["action"] == action {
                    return Some(v);
                }
            }
        }
    }
}

#[test]
fn every_acknowledged_message_survives_sigkill_of_chatspec_serve() {
    let dir = scratch("assa");
    let config = write_config(
        &dir,
        &[ListenerName::Assa],
        "[assa]\nrecent_messages = 10000\n",
    );
    let token = token(&config, 1);

    let mut served = serve(&config, &[ListenerName::Assa]);
    let (mut reader, mut writer) = login(served.addr(ListenerName::Assa), &token);
    writer
        .write_all(&request("CREATE_ROOM", 1, json!({ "name": "durable" })))
        .unwrap();
    let room = next_answer(&mut reader, "CREATE_ROOM_RESPONSE").expect("the room")["data"]
        ["room_id"]
        .as_u64()
        .expect("room_id");
    // Every message in one burst, written while the answers are read.
    let mut burst = Vec::new();
    for i in 0..TOTAL {
        burst.extend(request(
            "SEND_MESSAGE",
            i,
            json!({ "room_id": room, "content": format!("m{i}"), "message_type": "text",
                    "client_message_id": format!("c{i}") }),
        ));
    }
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&burst);
    });
    let mut acked = Vec::new();
    while let Some(answer) = next_answer(&mut reader, "SEND_MESSAGE_RESPONSE") {
        if answer["success"] == true {
            acked.push(answer["data"]["content"].as_str().unwrap().to_owned());
            if acked.len() == KILL_AFTER {
                served.child.kill().expect("SIGKILL");
            }
        }
    }
    let _ = served.child.wait();
    let _ = sender.join();
    assert!(
        (KILL_AFTER..TOTAL).contains(&acked.len()),
        "{} of {TOTAL} acknowledged: the kill must come in the middle of the traffic",
        acked.len()
    );

    let served = serve(&config, &[ListenerName::Assa]);
    let (mut reader, mut writer) = login(served.addr(ListenerName::Assa), &token);
    writer
        .write_all(&request("JOIN_ROOM", 2, json!({ "room_id": room })))
        .unwrap();
    let joined = next_answer(&mut reader, "JOIN_ROOM_RESPONSE").expect("JOIN_ROOM_RESPONSE");
    let stored: Vec<String> = joined["data"]["recent_messages"]
        .as_array()
        .expect("recent_messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message is stored twice");
    for content in &acked {
        assert!(
            unique.contains(content),
            "{content} was acknowledged, then lost"
        );
    }
    // The sender's own messages are not pending for it.
    writer
        .write_all(&request(
            "CHECK_RECEIVE",
            3,
            json!({ "room_id": room, "message_ids": [] }),
        ))
        .unwrap();
    let receipts = next_answer(&mut reader, "CHECK_RECEIVE_RESPONSE").expect("receipts");
    assert_eq!(
        receipts["data"]["pending_messages"],
        json!([]),
        "{receipts}"
    );
    served.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
