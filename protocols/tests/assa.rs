//! Tests of the `assa` codec: unit cases and proptest round trips.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

use protocols::assa::framing::{self, Decoder, Framing};
use protocols::assa::limits::*;
use protocols::assa::*;
use protocols::{CommonError, Dialect, Rule};

const T: &str = "2024-01-01T12:00:00.000Z";

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn decode(value: &Value) -> Result<Message, Error> {
    Assa::decode(None, &bytes(value))
}

fn rules(kind: Option<&str>, value: &Value) -> Vec<&'static str> {
    Assa::validate(kind, &bytes(value))
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

fn send_text(content: &str) -> Value {
    json!({
        "action": "SEND_MESSAGE",
        "data": {"room_id": 100, "content": content, "message_type": "text"},
        "timestamp": T, "seq_id": "send_msg_001", "user_id": 123
    })
}

fn send_image(file_size: u64) -> Value {
    json!({
        "action": "SEND_MESSAGE",
        "data": {
            "room_id": 100, "content": "", "message_type": "image",
            "file_info": {"file_path": "/p.jpg", "file_name": "p.jpg", "file_size": file_size, "mime_type": "image/jpeg"}
        },
        "timestamp": T, "seq_id": "send_img_001", "user_id": 123
    })
}

fn sdp(extra: Value) -> Value {
    let mut data = json!({"video_room_id": 200, "sdp_type": "offer", "sdp_data": "v=0\r\n"});
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    json!({"action": "SDP", "data": data, "timestamp": T, "seq_id": "sdp_001"})
}

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

#[test]
fn timestamps_in_the_documents_format_and_with_offsets_are_accepted() {
    for ok in [
        "2024-01-01T12:00:00.000Z",
        "2024-01-01T12:00:00Z",
        "2024-01-01T12:00:00.1Z",
        "2024-01-01T12:00:00.123456789Z",
        "2024-01-01T21:00:00.000+09:00",
        "2023-12-31T23:00:00-05:30",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59.999Z",
    ] {
        assert!(Timestamp::is_valid(ok), "{ok} should be valid");
    }
}

#[test]
fn timestamps_outside_the_strict_format_are_refused() {
    for bad in [
        "",
        "2024-01-01",
        "2024-01-01T12:00:00.000",
        "2024-01-01t12:00:00.000Z",
        "2024-01-01T12:00:00.000z",
        "2024-01-01 12:00:00.000Z",
        "2024-01-01T12:00:00.000+0900",
        "2024-01-01T12:00:00.000+09",
        "2024-01-01T12:00:00.Z",
        "2024-01-01T12:00:00.1234567890Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T12:60:00Z",
        "2024-01-01T12:00:60Z",
        "2023-02-29T12:00:00Z",
        "2024-04-31T12:00:00Z",
        "2024-00-10T12:00:00Z",
        "2024-1-01T12:00:00Z",
        "+2024-01-01T12:00:00Z",
        "2024-01-01T12:00:00ZZ",
        "2024-01-01T12:00:00.000Z ",
        "2024-01-01T12:00:00+24:00",
        "２０２４-01-01T12:00:00Z",
    ] {
        assert!(!Timestamp::is_valid(bad), "{bad:?} should be refused");
    }
}

#[test]
fn timestamp_error_names_the_field_and_value() {
    let mut msg = send_text("hi");
    msg["timestamp"] = json!("2024-01-01T12:00:00");
    assert_eq!(
        decode(&msg),
        Err(Error::BadTimestamp {
            field: "timestamp".into(),
            value: "2024-01-01T12:00:00".into(),
            spec: "004_636ae579ed5d2364.txt §2.2",
        })
    );
}

#[test]
fn timestamps_convert_to_and_from_unix_millis() {
    assert_eq!(
        Timestamp::from_unix_millis(0).as_str(),
        "1970-01-01T00:00:00.000Z"
    );
    assert_eq!(
        Timestamp::from_unix_millis(1_704_110_400_000).as_str(),
        "2024-01-01T12:00:00.000Z"
    );
    assert_eq!(
        Timestamp::parse("2024-01-01T21:00:00.000+09:00")
            .unwrap()
            .unix_millis(),
        1_704_110_400_000
    );
    assert_eq!(
        Timestamp::from_unix_millis(-1).as_str(),
        "1969-12-31T23:59:59.999Z"
    );
}

// ---------------------------------------------------------------------------
// Envelope and actions
// ---------------------------------------------------------------------------

#[test]
fn unknown_action_is_refused_with_its_name() {
    let msg = json!({"action": "FLY", "timestamp": T, "seq_id": "s"});
    assert_eq!(
        decode(&msg),
        Err(Error::UnknownAction {
            action: "FLY".into()
        })
    );
    assert_eq!(
        decode(&msg).unwrap_err().spec(),
        "004_636ae579ed5d2364.txt §2.2"
    );
    for name in [
        "PING_RESPONSE",
        "PONG_RESPONSE",
        "NEW_MESSAGE_RESPONSE",
        "connect",
    ] {
        let msg = json!({"action": name, "timestamp": T, "seq_id": "s", "success": true});
        assert_eq!(rules(None, &msg), vec!["unknown-action"], "{name}");
    }
}

#[test]
fn placeholders_of_the_generic_examples_are_envelope_only() {
    let msg = json!({"action": "ACTION_TYPE", "data": {}, "timestamp": T, "seq_id": "unique_sequence_id"});
    assert_eq!(rules(None, &msg), vec!["unknown-action"]);
    assert_eq!(rules(Some("envelope"), &msg), Vec::<&str>::new());
    let m = Assa::decode(Some("envelope"), &bytes(&msg)).unwrap();
    assert_eq!(m.action(), "ACTION_TYPE");
    assert_eq!(m.body.direction(), None);
    let resp = json!({"action": "ACTION_RESPONSE", "timestamp": T, "seq_id": "s"});
    assert_eq!(
        Assa::decode(Some("envelope"), &bytes(&resp)),
        Err(Error::Common(CommonError::MissingField {
            field: "success".into(),
            spec: "004_636ae579ed5d2364.txt §2.3"
        }))
    );
}

#[test]
fn validate_reports_every_violation() {
    let msg = json!({
        "action": "JOIN_ROOM",
        "data": {"room_id": "100", "x": 1},
        "seq_id": "",
        "user_id": -3,
        "session_id": 9
    });
    let violations = Assa::validate(None, &bytes(&msg));
    let got: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.rule))
        .collect();
    assert_eq!(
        got,
        vec![
            ("timestamp", "missing-field"),
            ("seq_id", "empty-value"),
            ("user_id", "bad-id"),
            ("session_id", "wrong-type"),
            ("data.room_id", "wrong-type"),
        ]
    );
    assert_eq!(
        decode(&msg),
        Err(Error::Common(CommonError::MissingField {
            field: "timestamp".into(),
            spec: "004_636ae579ed5d2364.txt §2.2"
        }))
    );
}

#[test]
fn nested_paths_name_array_elements() {
    let msg = json!({
        "action": "JOIN_VIDEO_ROOM_RESPONSE", "success": true,
        "data": {"video_room_id": 200, "participants": [
            {"user_id": 1, "nickname": "a", "role": "host", "media_status": {"audio_enabled": true, "video_enabled": true}},
            {"user_id": 2, "nickname": "b", "role": "participant", "media_status": {"audio_enabled": "yes", "video_enabled": true}}
        ]},
        "timestamp": T, "seq_id": "join_video_001"
    });
    let v = Assa::validate(None, &bytes(&msg));
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].field,
        "data.participants[1].media_status.audio_enabled"
    );
    assert_eq!(v[0].rule, "wrong-type");
    assert_eq!(v[0].spec, "004_636ae579ed5d2364.txt §7.2");
}

#[test]
fn responses_need_success_and_failures_need_an_error_code() {
    let failure =
        json!({"action": "JOIN_ROOM_RESPONSE", "success": false, "timestamp": T, "seq_id": "j"});
    assert_eq!(
        decode(&failure),
        Err(Error::Common(CommonError::MissingField {
            field: "error_code".into(),
            spec: "004_636ae579ed5d2364.txt §4.2"
        }))
    );
    let mut ok = failure.clone();
    ok["error_code"] = json!("ROOM_FULL");
    let m = decode(&ok).unwrap();
    assert_eq!(
        m.body,
        Body::JoinRoomResponse(Response {
            success: false,
            message: None,
            error_code: Some(AnyErrorCode::Known(ErrorCode::RoomFull)),
            data: None,
        })
    );
    let error = json!({"action": "ERROR", "success": true, "error_code": "X", "timestamp": T, "seq_id": "e"});
    assert_eq!(decode(&error), Err(Error::ErrorWithSuccess));
}

#[test]
fn undocumented_responses_use_the_generic_envelope() {
    for action in [
        "DISCONNECT",
        "SDP",
        "ICE_CANDIDATE",
        "MEDIA_STATUS",
        "EXIT_VIDEO_ROOM",
        "GET_VIDEO_ROOM_PARTICIPANT",
    ] {
        let msg = json!({
            "action": format!("{action}_RESPONSE"), "success": true,
            "data": {"anything": [1, 2]}, "timestamp": T, "seq_id": "s"
        });
        let m = decode(&msg).unwrap();
        let Body::GenericResponse { request, response } = &m.body else {
            panic!("{action}: {m:?}")
        };
        assert_eq!(request.name(), action);
        assert_eq!(response.data.as_ref().unwrap()["anything"], json!([1, 2]));
        assert_eq!(
            serde_json::from_slice::<Value>(&Assa::encode(&m).unwrap()).unwrap(),
            msg
        );
    }
}

#[test]
fn sdp_direction_is_told_by_its_fields_or_forced_by_kind() {
    let request = sdp(json!({"target_user_id": 456}));
    let relay = sdp(json!({"sender_user_id": 123}));
    assert!(matches!(decode(&request).unwrap().body, Body::Sdp(_)));
    assert!(matches!(decode(&relay).unwrap().body, Body::SdpRelay(_)));
    assert_eq!(
        Assa::decode(Some("server"), &bytes(&request)),
        Err(Error::Common(CommonError::MissingField {
            field: "data.sender_user_id".into(),
            spec: "004_636ae579ed5d2364.txt §7.3"
        }))
    );
    assert_eq!(
        decode(&sdp(json!({}))),
        Err(Error::Common(CommonError::MissingField {
            field: "data.target_user_id".into(),
            spec: "004_636ae579ed5d2364.txt §7.3"
        }))
    );
    assert_eq!(
        decode(&sdp(json!({"target_user_id": 1, "sender_user_id": 2}))),
        Err(Error::AmbiguousDirection {
            action: "SDP".into()
        })
    );
    // Forced, the other field is kept as an unknown one.
    let both = sdp(json!({"target_user_id": 1, "sender_user_id": 2}));
    let Body::Sdp(data) = Assa::decode(Some("client"), &bytes(&both)).unwrap().body else {
        panic!()
    };
    assert_eq!(data.extra["sender_user_id"], json!(2));
    let ice = json!({
        "action": "ICE_CANDIDATE", "timestamp": T, "seq_id": "ice_002",
        "data": {"video_room_id": 200, "sender_user_id": 123, "candidate": "candidate:1 1 UDP 1 1.2.3.4 5 typ host"}
    });
    assert!(matches!(
        decode(&ice).unwrap().body,
        Body::IceCandidateRelay(IceCandidateRelayData {
            sender_user_id: 123,
            sdp_mid: None,
            ..
        })
    ));
}

#[test]
fn kinds_force_a_direction() {
    let ping = json!({"action": "PING", "timestamp": T, "seq_id": "ping_001"});
    assert_eq!(
        Assa::decode(Some("client"), &bytes(&ping)),
        Err(Error::WrongDirection {
            action: "PING".into(),
            expected: Direction::ClientToServer
        })
    );
    assert!(Assa::decode(Some("server"), &bytes(&ping)).is_ok());
    let resp = json!({"action": "EXIT_ROOM_RESPONSE", "success": true, "data": {"room_id": 1}, "timestamp": T, "seq_id": "e"});
    assert_eq!(rules(Some("client"), &resp), vec!["wrong-direction"]);
    assert_eq!(rules(Some("server"), &resp), Vec::<&str>::new());
    assert_eq!(
        Assa::decode(Some("upstream"), &bytes(&ping)),
        Err(Error::UnknownKind {
            kind: "upstream".into()
        })
    );
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

#[test]
fn limits_are_the_documents() {
    assert_eq!(MAX_TEXT_CHARS, 5_000);
    assert_eq!(MAX_MESSAGE_BYTES, 1_048_576);
    assert_eq!(MAX_IMAGE_BYTES, 10_485_760);
    assert_eq!(MAX_CONNECTIONS, 1_000);
    assert_eq!(PORT, 12345);
    assert_eq!(CONNECT_TIMEOUT.as_secs(), 30);
    assert_eq!(RESPONSE_TIMEOUT.as_secs(), 10);
    assert_eq!(PING_INTERVAL.as_secs(), 30);
    assert_eq!(PONG_TIMEOUT.as_secs(), 60);
    assert_eq!(RECONNECT_ATTEMPTS, 3);
    assert_eq!(RECONNECT_BACKOFF.map(|d| d.as_secs()), [1, 2, 4]);
}

#[test]
fn text_limit_counts_characters_not_bytes() {
    let at_limit = "가".repeat(MAX_TEXT_CHARS);
    assert_eq!(at_limit.len(), 15_000);
    assert!(decode(&send_text(&at_limit)).is_ok());
    let over = "a".repeat(MAX_TEXT_CHARS + 1);
    assert_eq!(
        decode(&send_text(&over)),
        Err(Error::MessageTooLong {
            field: "data.content".into(),
            chars: 5001
        })
    );
    assert_eq!(
        decode(&send_text(&over)).unwrap_err().error_code(),
        Some(ErrorCode::MessageTooLong)
    );
    // The broadcast is held to the same limit.
    let broadcast = json!({
        "action": "NEW_MESSAGE", "timestamp": T, "seq_id": "b",
        "data": {"message_id": 1, "room_id": 1, "content": over, "message_type": "text",
                 "user": {"user_id": 1, "nickname": "n"}, "created_at": T}
    });
    assert_eq!(rules(None, &broadcast), vec!["message-too-long"]);
}

#[test]
fn image_limit_is_ten_mebibytes() {
    assert!(decode(&send_image(MAX_IMAGE_BYTES)).is_ok());
    assert_eq!(
        decode(&send_image(MAX_IMAGE_BYTES + 1)),
        Err(Error::FileTooLarge {
            field: "data.file_info.file_size".into(),
            size: MAX_IMAGE_BYTES + 1
        })
    );
    let mut no_file = send_image(1);
    no_file["data"].as_object_mut().unwrap().remove("file_info");
    assert_eq!(
        decode(&no_file),
        Err(Error::Common(CommonError::MissingField {
            field: "data.file_info".into(),
            spec: "004_636ae579ed5d2364.txt §5.2"
        }))
    );
}

#[test]
fn message_type_must_be_text_or_image() {
    let mut msg = send_text("hi");
    msg["data"]["message_type"] = json!("sticker");
    assert_eq!(
        decode(&msg),
        Err(Error::InvalidMessageType {
            field: "data.message_type".into(),
            value: "sticker".into()
        })
    );
    msg["data"]["message_type"] = json!(1);
    assert_eq!(rules(None, &msg), vec!["wrong-type"]);
}

#[test]
fn whole_message_over_one_mebibyte_is_refused() {
    let mut msg = send_text("hi");
    msg["padding"] = json!("x".repeat(MAX_MESSAGE_BYTES));
    let raw = bytes(&msg);
    assert!(raw.len() > MAX_MESSAGE_BYTES);
    assert_eq!(
        Assa::decode(None, &raw),
        Err(Error::MessageTooLarge { size: raw.len() })
    );
    assert_eq!(rules(None, &msg), vec!["message-too-large"]);
}

// ---------------------------------------------------------------------------
// Error codes, user id, preservation
// ---------------------------------------------------------------------------

#[test]
fn error_codes_serialize_as_the_documents_strings() {
    let names: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "AUTH_FAILED",
            "INVALID_TOKEN",
            "ROOM_NOT_FOUND",
            "PERMISSION_DENIED",
            "ROOM_FULL",
            "USER_NOT_IN_ROOM",
            "MESSAGE_TOO_LONG",
            "INVALID_MESSAGE_TYPE",
            "FILE_UPLOAD_FAILED",
            "VIDEO_ROOM_NOT_FOUND",
            "MAX_PARTICIPANTS_REACHED"
        ]
    );
    for code in ErrorCode::ALL {
        assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        assert_eq!(
            serde_json::from_value::<ErrorCode>(json!(code.as_str())).unwrap(),
            code
        );
        assert!(!code.meaning().is_empty());
    }
    assert_eq!(ErrorCode::AuthFailed.meaning(), "인증 실패");
    assert_eq!(
        AnyErrorCode::from("ROOM_FULL"),
        AnyErrorCode::Known(ErrorCode::RoomFull)
    );
    assert_eq!(
        AnyErrorCode::from("TEAPOT"),
        AnyErrorCode::Other("TEAPOT".into())
    );
    assert_eq!(
        serde_json::from_value::<AnyErrorCode>(json!("ROOM_FULL")).unwrap(),
        AnyErrorCode::Known(ErrorCode::RoomFull)
    );
}

#[test]
fn a_user_id_other_than_the_sessions_is_refused() {
    let m = decode(&send_text("hi")).unwrap();
    assert_eq!(m.check_user_id(123), Ok(()));
    let err = m.check_user_id(7).unwrap_err();
    assert_eq!(
        err,
        Error::UserMismatch {
            claimed: 123,
            session: 7
        }
    );
    assert_eq!(err.rule(), "user-mismatch");
    assert_eq!(err.spec(), "specs/README.md §Silent spots: assa user_id");
    let mut anonymous = m.clone();
    anonymous.user_id = None;
    assert_eq!(anonymous.check_user_id(7), Ok(()));
}

#[test]
fn null_and_absent_and_unknown_fields_survive_a_round_trip() {
    let mut with_null = send_text("hi");
    with_null["data"]["reply_to_message_id"] = Value::Null;
    with_null["data"]["x_color"] = json!("red");
    with_null["x_trace"] = json!({"id": 1});
    let m = decode(&with_null).unwrap();
    let Body::SendMessage(data) = &m.body else {
        panic!()
    };
    assert_eq!(data.reply_to_message_id, Some(None));
    assert_eq!(data.extra["x_color"], json!("red"));
    assert_eq!(m.extra["x_trace"], json!({"id": 1}));
    assert_eq!(
        serde_json::from_slice::<Value>(&Assa::encode(&m).unwrap()).unwrap(),
        with_null
    );
    let absent = decode(&send_text("hi")).unwrap();
    let Body::SendMessage(data) = &absent.body else {
        panic!()
    };
    assert_eq!(data.reply_to_message_id, None);
    // A null where the document shows none is a wrong type.
    let mut null_room = send_text("hi");
    null_room["data"]["room_id"] = Value::Null;
    assert_eq!(rules(None, &null_room), vec!["wrong-type"]);
}

#[test]
fn messages_built_in_code_encode_as_the_document_shows() {
    let m = Message::new(
        Body::JoinRoom(RoomRef {
            room_id: 100,
            ..Default::default()
        }),
        Timestamp::from_unix_millis(1_704_110_400_000),
        "join_room_001",
    )
    .with_user_id(456);
    let fixture = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/assa/valid/s4.2-join-room-request.json"),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&Assa::encode(&m).unwrap()).unwrap(),
        serde_json::from_slice::<Value>(&fixture).unwrap()
    );
    assert_eq!(m.action(), "JOIN_ROOM");
    assert_eq!(serde_json::from_slice::<Message>(&fixture).unwrap(), m);
    let failure = Message::new(
        Body::ConnectResponse(Response::failure(
            ErrorCode::AuthFailed,
            "인증에 실패했습니다",
        )),
        Timestamp::parse(T).unwrap(),
        "connect_001",
    );
    let wire: Value = serde_json::from_slice(&Assa::encode(&failure).unwrap()).unwrap();
    assert_eq!(wire["action"], "CONNECT_RESPONSE");
    assert_eq!(wire["success"], false);
    assert_eq!(wire["error_code"], "AUTH_FAILED");
    assert!(wire.get("data").is_none());
}

#[test]
fn every_error_names_a_rule_and_a_section() {
    let samples = [
        Error::Common(CommonError::InvalidUtf8 { spec: "§" }),
        Error::Common(CommonError::InvalidJson {
            reason: "x".into(),
            spec: "§",
        }),
        Error::NotAnObject,
        Error::MessageTooLarge { size: 1 },
        Error::FrameTooLarge { size: 1, limit: 0 },
        Error::Common(CommonError::EmptyValue {
            field: "seq_id".into(),
            spec: "§",
        }),
        Error::UnknownAction { action: "A".into() },
        Error::UnknownKind { kind: "k".into() },
        Error::AmbiguousDirection {
            action: "SDP".into(),
        },
        Error::ErrorWithSuccess,
        Error::UserMismatch {
            claimed: 1,
            session: 2,
        },
    ];
    for e in samples {
        assert!(!e.rule().is_empty() && !e.spec().is_empty(), "{e:?}");
        assert!(e.spec().contains('§'), "{e:?}");
    }
}

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

fn drain(decoder: &mut Decoder) -> (Vec<Vec<u8>>, Option<Error>) {
    let mut frames = Vec::new();
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

#[test]
fn json_stream_reads_lines_and_concatenated_objects() {
    let mut d = Decoder::new(Framing::JsonStream);
    d.feed(b"{\"a\":1}\n{\"b\":[1,{\"c\":2}]}{\"d\":\"}{\\\"\"}\r\n  {\"e\"");
    let (frames, error) = drain(&mut d);
    assert_eq!(error, None);
    assert_eq!(
        frames,
        vec![
            b"{\"a\":1}".to_vec(),
            b"{\"b\":[1,{\"c\":2}]}".to_vec(),
            b"{\"d\":\"}{\\\"\"}".to_vec()
        ]
    );
    d.feed(b":true}");
    assert_eq!(d.next_frame(), Ok(Some(b"{\"e\":true}".to_vec())));
    assert_eq!(d.next_frame(), Ok(None));
}

#[test]
fn malformed_value_stops_the_json_stream_for_good() {
    let mut d = Decoder::new(Framing::JsonStream);
    d.feed(b"{\"ok\":1}\n{\"action\":}\n{\"ok\":2}\n");
    assert_eq!(d.next_frame(), Ok(Some(b"{\"ok\":1}".to_vec())));
    let err = d.next_frame().unwrap_err();
    assert_eq!(err.rule(), "invalid-json");
    assert_eq!(d.next_frame(), Err(err.clone()));
    d.feed(b"{\"ok\":3}\n");
    assert_eq!(d.next_frame(), Err(err.clone()));
    assert_eq!(d.error(), Some(&err));
    assert_eq!(d.unread_offset(), 9);
}

#[test]
fn a_top_level_value_other_than_an_object_stops_the_stream() {
    for input in [&b"[1]"[..], b"42", b"\"s\"", b"}", b"\xef\xbb\xbf{}"] {
        let mut d = Decoder::new(Framing::JsonStream);
        d.feed(input);
        assert_eq!(d.next_frame(), Err(Error::NotAnObject), "{input:?}");
    }
}

#[test]
fn json_stream_refuses_a_frame_as_soon_as_it_passes_the_limit() {
    let mut d = Decoder::with_max_frame(Framing::JsonStream, 13);
    d.feed(b"  {\"a\":\"1234");
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(b"5\"");
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(b"}");
    // Exactly at the limit.
    assert_eq!(d.next_frame(), Ok(Some(b"{\"a\":\"12345\"}".to_vec())));
    let mut d = Decoder::with_max_frame(Framing::JsonStream, 12);
    d.feed(b"{\"a\":\"12345\"}");
    assert_eq!(
        d.next_frame(),
        Err(Error::FrameTooLarge {
            size: 13,
            limit: 12
        })
    );
    let mut d = Decoder::with_max_frame(Framing::JsonStream, 10);
    d.feed(b"{\"a\":\"12\"}\n\n\n\n\n\n\n\n\n\n\n\n{}");
    let (frames, error) = drain(&mut d);
    assert_eq!(frames.len(), 2);
    assert_eq!(error, None);
    // Refused at the eleventh byte, however much follows in the same chunk.
    let mut d = Decoder::with_max_frame(Framing::JsonStream, 10);
    let mut big = b"{\"a\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 10_000));
    d.feed(&big);
    assert_eq!(
        d.next_frame(),
        Err(Error::FrameTooLarge {
            size: 11,
            limit: 10
        })
    );
    d.feed(&big);
    assert_eq!(d.buffered(), 0);
}

#[test]
fn length_prefix_refuses_an_oversized_header_before_the_payload() {
    let mut d = Decoder::with_max_frame(Framing::LengthPrefixed, 100);
    d.feed(&101u32.to_be_bytes());
    assert_eq!(
        d.next_frame(),
        Err(Error::FrameTooLarge {
            size: 101,
            limit: 100
        })
    );
    let mut d = Decoder::new(Framing::LengthPrefixed);
    d.feed(&[0, 0]);
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(&[0, 3, b'{', b'}']);
    assert_eq!(d.next_frame(), Ok(None));
    // The payload is handed out unparsed; the stream stays in step.
    d.feed(b"x\x00\x00\x00\x02{}");
    assert_eq!(d.next_frame(), Ok(Some(b"{}x".to_vec())));
    assert_eq!(d.next_frame(), Ok(Some(b"{}".to_vec())));
    assert_eq!(d.next_frame(), Ok(None));
    assert!(Assa::decode(None, b"{}x").is_err());
}

#[test]
fn encode_writes_one_line_or_one_prefixed_payload() {
    let m = decode(&send_text("line one\nline two")).unwrap();
    let line = framing::encode(Framing::JsonStream, &m).unwrap();
    assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
    assert_eq!(line.last(), Some(&b'\n'));
    let prefixed = framing::encode(Framing::LengthPrefixed, &m).unwrap();
    let json = Assa::encode(&m).unwrap();
    assert_eq!(prefixed[..4], (json.len() as u32).to_be_bytes());
    assert_eq!(prefixed[4..], json[..]);
}

#[test]
fn dialect_frames_split_a_capture_and_keep_a_bad_tail() {
    let input = b"{\"a\":1}\n {\"b\":2}{\"c\":\n";
    let frames = Assa::frames(input);
    let got: Vec<(usize, &[u8])> = frames.iter().map(|f| (f.offset, f.bytes)).collect();
    assert_eq!(
        got,
        vec![
            (0, &b"{\"a\":1}"[..]),
            (9, &b"{\"b\":2}"[..]),
            (16, &b"{\"c\":"[..])
        ]
    );
    let frames = Assa::frames(b"{\"a\":1} [1] {\"b\":2}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].bytes, b"[1] {\"b\":2}");
    assert!(Assa::frames(b" \n ").is_empty());
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn text() -> BoxedStrategy<String> {
    "[a-zA-Z0-9 가-힣_\"\\\\\n/.-]{0,16}".boxed()
}

fn opt<S: Strategy + 'static>(s: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    proptest::option::of(s).boxed()
}

fn id() -> BoxedStrategy<u64> {
    prop_oneof![0u64..1000, any::<u64>()].boxed()
}

fn ids() -> BoxedStrategy<Vec<u64>> {
    vec(id(), 0..4).boxed()
}

fn ts() -> BoxedStrategy<Timestamp> {
    let utc = (Timestamp::MIN_UNIX_MILLIS..=Timestamp::MAX_UNIX_MILLIS)
        .prop_map(Timestamp::from_unix_millis);
    let zone = prop_oneof![
        Just("Z".to_owned()),
        (any::<bool>(), 0u32..24, 0u32..60)
            .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }))
    ];
    let written = (
        0u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        opt("[0-9]{1,9}"),
        zone,
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            Timestamp::parse(&format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}"
            ))
            .unwrap()
        });
    prop_oneof![utc, written].boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        text().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
    .boxed()
}

fn extra() -> BoxedStrategy<Map<String, Value>> {
    btree_map("x_[a-z]{1,6}", scalar(), 0..3)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

fn object() -> BoxedStrategy<Map<String, Value>> {
    btree_map("[a-z_]{1,8}", scalar(), 0..4)
        .prop_map(|m| m.into_iter().collect())
        .boxed()
}

fn code() -> BoxedStrategy<AnyErrorCode> {
    prop_oneof![
        select(ErrorCode::ALL.to_vec()).prop_map(AnyErrorCode::from),
        "[A-Z_]{1,12}".prop_map(|s| AnyErrorCode::from(s.as_str())),
    ]
    .boxed()
}

fn response<T: Clone + std::fmt::Debug + 'static>(
    data: BoxedStrategy<T>,
) -> BoxedStrategy<Response<T>> {
    prop_oneof![
        (opt(text()), opt(code()), data.clone()).prop_map(|(message, error_code, d)| Response {
            success: true,
            message,
            error_code,
            data: Some(d),
        }),
        (opt(text()), code(), opt(data)).prop_map(|(message, c, data)| Response {
            success: false,
            message,
            error_code: Some(c),
            data,
        }),
    ]
    .boxed()
}

fn participant() -> BoxedStrategy<Participant> {
    (id(), text(), text(), opt(ts()), extra())
        .prop_map(|(user_id, nickname, role, joined_at, extra)| Participant {
            user_id,
            nickname,
            role,
            joined_at,
            extra,
        })
        .boxed()
}

fn user_ref() -> BoxedStrategy<UserRef> {
    (id(), text(), opt(text()), extra())
        .prop_map(|(user_id, nickname, profile_image, extra)| UserRef {
            user_id,
            nickname,
            profile_image,
            extra,
        })
        .boxed()
}

fn room_summary() -> BoxedStrategy<RoomSummary> {
    (text(), opt(text()), opt(id()), id(), extra())
        .prop_map(
            |(name, description, host_user_id, participants_count, extra)| RoomSummary {
                name,
                description,
                host_user_id,
                participants_count,
                extra,
            },
        )
        .boxed()
}

fn file_info() -> BoxedStrategy<FileInfo> {
    (text(), text(), 0..=MAX_IMAGE_BYTES, text(), extra())
        .prop_map(
            |(file_path, file_name, file_size, mime_type, extra)| FileInfo {
                file_path,
                file_name,
                file_size,
                mime_type,
                extra,
            },
        )
        .boxed()
}

fn message_type() -> BoxedStrategy<MessageType> {
    select(vec![MessageType::Text, MessageType::Image]).boxed()
}

fn sdp_type() -> BoxedStrategy<SdpType> {
    select(vec![
        SdpType::Offer,
        SdpType::Answer,
        SdpType::Pranswer,
        SdpType::Rollback,
    ])
    .boxed()
}

fn media_state() -> BoxedStrategy<MediaState> {
    (any::<bool>(), any::<bool>(), extra())
        .prop_map(|(audio_enabled, video_enabled, extra)| MediaState {
            audio_enabled,
            video_enabled,
            extra,
        })
        .boxed()
}

fn video_participant() -> BoxedStrategy<VideoParticipant> {
    (id(), text(), text(), media_state(), extra())
        .prop_map(
            |(user_id, nickname, role, media_status, extra)| VideoParticipant {
                user_id,
                nickname,
                role,
                media_status,
                extra,
            },
        )
        .boxed()
}

fn room_ref() -> BoxedStrategy<RoomRef> {
    (id(), extra())
        .prop_map(|(room_id, extra)| RoomRef { room_id, extra })
        .boxed()
}

fn video_room_ref() -> BoxedStrategy<VideoRoomRef> {
    (id(), extra())
        .prop_map(|(video_room_id, extra)| VideoRoomRef {
            video_room_id,
            extra,
        })
        .boxed()
}

fn connect() -> BoxedStrategy<ConnectData> {
    let device = (opt(text()), opt(text()), opt(text()), extra()).prop_map(
        |(platform, app_version, device_id, extra)| DeviceInfo {
            platform,
            app_version,
            device_id,
            extra,
        },
    );
    (text(), opt(device), extra())
        .prop_map(|(jwt_token, device_info, extra)| ConnectData {
            jwt_token,
            device_info,
            extra,
        })
        .boxed()
}

fn connect_response() -> BoxedStrategy<ConnectResponseData> {
    let info = (ids(), id(), extra()).prop_map(|(existing_rooms, unread_messages, extra)| {
        ReconnectionInfo {
            existing_rooms,
            unread_messages,
            extra,
        }
    });
    (id(), text(), ts(), opt(info), extra())
        .prop_map(
            |(user_id, session_id, server_time, reconnection_info, extra)| ConnectResponseData {
                user_id,
                session_id,
                server_time,
                reconnection_info,
                extra,
            },
        )
        .boxed()
}

fn create_room() -> BoxedStrategy<CreateRoomData> {
    (
        text(),
        opt(text()),
        opt(any::<bool>()),
        opt(id()),
        opt(ids()),
        extra(),
    )
        .prop_map(
            |(name, description, is_open, max_participants, invited_user_ids, extra)| {
                CreateRoomData {
                    name,
                    description,
                    is_open,
                    max_participants,
                    invited_user_ids,
                    extra,
                }
            },
        )
        .boxed()
}

fn create_room_response() -> BoxedStrategy<CreateRoomResponseData> {
    (
        id(),
        text(),
        opt(text()),
        id(),
        vec(participant(), 0..3),
        ts(),
        extra(),
    )
        .prop_map(
            |(room_id, name, description, host_user_id, participants, created_at, extra)| {
                CreateRoomResponseData {
                    room_id,
                    name,
                    description,
                    host_user_id,
                    participants,
                    created_at,
                    extra,
                }
            },
        )
        .boxed()
}

fn join_room_response() -> BoxedStrategy<JoinRoomResponseData> {
    (
        id(),
        room_summary(),
        vec(participant(), 0..3),
        opt(vec(object(), 0..2)),
        extra(),
    )
        .prop_map(
            |(room_id, room_info, participants, recent_messages, extra)| JoinRoomResponseData {
                room_id,
                room_info,
                participants,
                recent_messages,
                extra,
            },
        )
        .boxed()
}

fn user_joined() -> BoxedStrategy<UserJoinedData> {
    (id(), participant(), id(), extra())
        .prop_map(
            |(room_id, user, participants_count, extra)| UserJoinedData {
                room_id,
                user,
                participants_count,
                extra,
            },
        )
        .boxed()
}

fn room_info_response() -> BoxedStrategy<RoomInfoResponseData> {
    (
        (id(), text(), opt(text()), any::<bool>(), id()),
        (id(), id(), ts(), vec(participant(), 0..3), extra()),
    )
        .prop_map(
            |(
                (room_id, name, description, is_open, host_user_id),
                (participants_count, max_participants, created_at, participants, extra),
            )| RoomInfoResponseData {
                room_id,
                name,
                description,
                is_open,
                host_user_id,
                participants_count,
                max_participants,
                created_at,
                participants,
                extra,
            },
        )
        .boxed()
}

fn send_message() -> BoxedStrategy<SendMessageData> {
    (
        id(),
        text(),
        message_type(),
        opt(opt(id())),
        opt(text()),
        opt(file_info()),
        extra(),
    )
        .prop_map(
            |(
                room_id,
                content,
                message_type,
                reply_to_message_id,
                client_message_id,
                file_info,
                extra,
            )| {
                let file_info = match (message_type, file_info) {
                    (MessageType::Image, None) => Some(FileInfo::default()),
                    (_, f) => f,
                };
                SendMessageData {
                    room_id,
                    content,
                    message_type,
                    reply_to_message_id,
                    client_message_id,
                    file_info,
                    extra,
                }
            },
        )
        .boxed()
}

fn send_message_response() -> BoxedStrategy<SendMessageResponseData> {
    (
        (id(), id(), text(), message_type(), ts()),
        (opt(text()), opt(opt(id())), opt(file_info()), extra()),
    )
        .prop_map(
            |(
                (message_id, room_id, content, message_type, created_at),
                (client_message_id, reply_to_message_id, file_info, extra),
            )| SendMessageResponseData {
                message_id,
                room_id,
                content,
                message_type,
                created_at,
                client_message_id,
                reply_to_message_id,
                file_info,
                extra,
            },
        )
        .boxed()
}

fn new_message() -> BoxedStrategy<NewMessageData> {
    (
        (id(), id(), text(), message_type(), user_ref()),
        (ts(), opt(opt(id())), opt(file_info()), extra()),
    )
        .prop_map(
            |(
                (message_id, room_id, content, message_type, user),
                (created_at, reply_to_message_id, file_info, extra),
            )| NewMessageData {
                message_id,
                room_id,
                content,
                message_type,
                user,
                created_at,
                reply_to_message_id,
                file_info,
                extra,
            },
        )
        .boxed()
}

fn check_receive() -> BoxedStrategy<CheckReceiveData> {
    (id(), ids(), extra())
        .prop_map(|(room_id, message_ids, extra)| CheckReceiveData {
            room_id,
            message_ids,
            extra,
        })
        .boxed()
}

fn check_receive_response() -> BoxedStrategy<CheckReceiveResponseData> {
    let pending = (id(), text(), user_ref(), ts(), opt(message_type()), extra()).prop_map(
        |(message_id, content, user, created_at, message_type, extra)| PendingMessage {
            message_id,
            content,
            user,
            created_at,
            message_type,
            extra,
        },
    );
    (id(), ids(), ids(), vec(pending, 0..3), extra())
        .prop_map(
            |(room_id, received_messages, failed_messages, pending_messages, extra)| {
                CheckReceiveResponseData {
                    room_id,
                    received_messages,
                    failed_messages,
                    pending_messages,
                    extra,
                }
            },
        )
        .boxed()
}

fn invite() -> BoxedStrategy<InviteData> {
    (id(), ids(), extra())
        .prop_map(|(room_id, invited_user_ids, extra)| InviteData {
            room_id,
            invited_user_ids,
            extra,
        })
        .boxed()
}

fn invite_response() -> BoxedStrategy<InviteResponseData> {
    let user = (id(), text(), text(), extra()).prop_map(|(user_id, nickname, status, extra)| {
        InvitedUser {
            user_id,
            nickname,
            status,
            extra,
        }
    });
    (id(), vec(user, 0..3), extra())
        .prop_map(|(room_id, invited_users, extra)| InviteResponseData {
            room_id,
            invited_users,
            extra,
        })
        .boxed()
}

fn invitation_received() -> BoxedStrategy<InvitationReceivedData> {
    (id(), room_summary(), user_ref(), extra())
        .prop_map(
            |(room_id, room_info, inviter, extra)| InvitationReceivedData {
                room_id,
                room_info,
                inviter,
                extra,
            },
        )
        .boxed()
}

fn create_video_room() -> BoxedStrategy<CreateVideoRoomData> {
    (id(), opt(text()), opt(id()), extra())
        .prop_map(
            |(chat_room_id, video_room_name, max_participants, extra)| CreateVideoRoomData {
                chat_room_id,
                video_room_name,
                max_participants,
                extra,
            },
        )
        .boxed()
}

fn create_video_room_response() -> BoxedStrategy<CreateVideoRoomResponseData> {
    (
        (id(), opt(text()), id(), id()),
        (vec(video_participant(), 0..3), id(), ts(), extra()),
    )
        .prop_map(
            |(
                (video_room_id, video_room_name, chat_room_id, host_user_id),
                (participants, max_participants, created_at, extra),
            )| CreateVideoRoomResponseData {
                video_room_id,
                video_room_name,
                chat_room_id,
                host_user_id,
                participants,
                max_participants,
                created_at,
                extra,
            },
        )
        .boxed()
}

fn join_video_room_response() -> BoxedStrategy<JoinVideoRoomResponseData> {
    (id(), vec(video_participant(), 0..3), extra())
        .prop_map(
            |(video_room_id, participants, extra)| JoinVideoRoomResponseData {
                video_room_id,
                participants,
                extra,
            },
        )
        .boxed()
}

fn body() -> BoxedStrategy<Body> {
    let generic_request = select(vec![
        Action::Disconnect,
        Action::Sdp,
        Action::IceCandidate,
        Action::MediaStatus,
        Action::ExitVideoRoom,
        Action::GetVideoRoomParticipant,
    ]);
    let envelope = (
        "[A-Z_]{1,20}",
        opt(any::<bool>()),
        opt(text()),
        opt(code()),
        opt(object()),
    )
        .prop_map(|(action, mut success, message, mut error_code, data)| {
            if success.is_none() && (action.ends_with("_RESPONSE") || action == "ERROR") {
                success = Some(true);
            }
            if success == Some(false) && error_code.is_none() {
                error_code = Some(AnyErrorCode::Known(ErrorCode::AuthFailed));
            }
            Body::Envelope(Envelope {
                action,
                success,
                message,
                error_code,
                data,
            })
        });
    let disconnect =
        (opt(text()), extra()).prop_map(|(reason, extra)| DisconnectData { reason, extra });
    let sdp = (id(), id(), sdp_type(), text(), extra()).prop_map(
        |(video_room_id, target_user_id, sdp_type, sdp_data, extra)| SdpData {
            video_room_id,
            target_user_id,
            sdp_type,
            sdp_data,
            extra,
        },
    );
    let sdp_relay = (id(), id(), sdp_type(), text(), extra()).prop_map(
        |(video_room_id, sender_user_id, sdp_type, sdp_data, extra)| SdpRelayData {
            video_room_id,
            sender_user_id,
            sdp_type,
            sdp_data,
            extra,
        },
    );
    let ice = (id(), id(), text(), opt(text()), opt(id()), extra()).prop_map(
        |(video_room_id, target_user_id, candidate, sdp_mid, sdp_mline_index, extra)| {
            IceCandidateData {
                video_room_id,
                target_user_id,
                candidate,
                sdp_mid,
                sdp_mline_index,
                extra,
            }
        },
    );
    let ice_relay = (id(), id(), text(), opt(text()), opt(id()), extra()).prop_map(
        |(video_room_id, sender_user_id, candidate, sdp_mid, sdp_mline_index, extra)| {
            IceCandidateRelayData {
                video_room_id,
                sender_user_id,
                candidate,
                sdp_mid,
                sdp_mline_index,
                extra,
            }
        },
    );
    let media_status = (id(), any::<bool>(), any::<bool>(), extra()).prop_map(
        |(video_room_id, audio_enabled, video_enabled, extra)| MediaStatusData {
            video_room_id,
            audio_enabled,
            video_enabled,
            extra,
        },
    );
    let participant_media = (
        id(),
        id(),
        opt(text()),
        any::<bool>(),
        any::<bool>(),
        extra(),
    )
        .prop_map(
            |(video_room_id, user_id, nickname, audio_enabled, video_enabled, extra)| {
                ParticipantMediaStatusData {
                    video_room_id,
                    user_id,
                    nickname,
                    audio_enabled,
                    video_enabled,
                    extra,
                }
            },
        );
    let announcement = (text(), text(), opt(text()), opt(text()), extra()).prop_map(
        |(title, message, priority, announcement_type, extra)| ServerAnnouncementData {
            title,
            message,
            priority,
            announcement_type,
            extra,
        },
    );
    let error_data =
        (opt(text()), opt(text()), extra()).prop_map(|(original_action, error_details, extra)| {
            ErrorData {
                original_action,
                error_details,
                extra,
            }
        });
    let error = (opt(text()), code(), opt(error_data)).prop_map(|(message, c, data)| {
        Body::Error(Response {
            success: false,
            message,
            error_code: Some(c),
            data,
        })
    });
    prop_oneof![
        connect().prop_map(Body::Connect),
        response(connect_response()).prop_map(Body::ConnectResponse),
        opt(disconnect).prop_map(Body::Disconnect),
        create_room().prop_map(Body::CreateRoom),
        response(create_room_response()).prop_map(Body::CreateRoomResponse),
        room_ref().prop_map(Body::JoinRoom),
        response(join_room_response()).prop_map(Body::JoinRoomResponse),
        user_joined().prop_map(Body::UserJoined),
        room_ref().prop_map(Body::ExitRoom),
        response(room_ref()).prop_map(Body::ExitRoomResponse),
        room_ref().prop_map(Body::RoomInfo),
        response(room_info_response()).prop_map(Body::RoomInfoResponse),
        send_message().prop_map(Body::SendMessage),
        response(send_message_response()).prop_map(Body::SendMessageResponse),
        new_message().prop_map(Body::NewMessage),
        check_receive().prop_map(Body::CheckReceive),
        response(check_receive_response()).prop_map(Body::CheckReceiveResponse),
        invite().prop_map(Body::Invite),
        response(invite_response()).prop_map(Body::InviteResponse),
        invitation_received().prop_map(Body::InvitationReceived),
        create_video_room().prop_map(Body::CreateVideoRoom),
        response(create_video_room_response()).prop_map(Body::CreateVideoRoomResponse),
        video_room_ref().prop_map(Body::JoinVideoRoom),
        response(join_video_room_response()).prop_map(Body::JoinVideoRoomResponse),
        sdp.prop_map(Body::Sdp),
        sdp_relay.prop_map(Body::SdpRelay),
        ice.prop_map(Body::IceCandidate),
        ice_relay.prop_map(Body::IceCandidateRelay),
        media_status.prop_map(Body::MediaStatus),
        participant_media.prop_map(Body::ParticipantMediaStatus),
        video_room_ref().prop_map(Body::ExitVideoRoom),
        video_room_ref().prop_map(Body::GetVideoRoomParticipant),
        announcement.prop_map(Body::ServerAnnouncement),
        opt(object()).prop_map(Body::Ping),
        opt(object()).prop_map(Body::Pong),
        error,
        (generic_request, response(object()))
            .prop_map(|(request, response)| Body::GenericResponse { request, response }),
        envelope,
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Message> {
    (
        body(),
        ts(),
        "[a-z0-9_]{1,12}",
        opt(id()),
        opt(text()),
        extra(),
    )
        .prop_map(
            |(body, timestamp, seq_id, user_id, session_id, extra)| Message {
                body,
                timestamp,
                seq_id,
                user_id,
                session_id,
                extra,
            },
        )
        .boxed()
}

fn kind_of(m: &Message) -> Option<&'static str> {
    match m.body {
        Body::Envelope(_) => Some("envelope"),
        _ => None,
    }
}

/// Arbitrary JSON shaped like ASSA messages, to reach deep into the walker.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        scalar(),
        any::<f64>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        select(vec!["text", "image", "offer", T, "2024-02-30T00:00:00Z"]).prop_map(Value::from),
    ];
    let keys = select(vec![
        "room_id",
        "content",
        "message_type",
        "file_info",
        "file_size",
        "participants",
        "user",
        "user_id",
        "created_at",
        "target_user_id",
        "sender_user_id",
        "sdp_type",
        "media_status",
        "room_info",
        "x",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
    .boxed()
}

fn assa_like() -> BoxedStrategy<Value> {
    let actions: Vec<String> = Action::ALL
        .iter()
        .map(|a| a.name().to_owned())
        .chain(Action::ALL.iter().filter_map(|a| a.response_name()))
        .chain(["NOPE".to_owned()])
        .collect();
    (
        select(actions),
        opt(json_value()),
        opt(any::<bool>()),
        opt(select(vec!["ROOM_FULL", "X"])),
        opt(select(vec![T, "yesterday"])),
        opt(prop_oneof![
            Just(json!("s")),
            Just(json!("")),
            Just(json!(3))
        ]),
    )
        .prop_map(|(action, data, success, code, timestamp, seq_id)| {
            let mut m = json!({"action": action});
            if let Some(d) = data {
                m["data"] = d;
            }
            if let Some(s) = success {
                m["success"] = json!(s);
            }
            if let Some(c) = code {
                m["error_code"] = json!(c);
            }
            if let Some(t) = timestamp {
                m["timestamp"] = json!(t);
            }
            if let Some(s) = seq_id {
                m["seq_id"] = s;
            }
            m
        })
        .boxed()
}

/// Cuts `input` at the given points (taken modulo its length).
fn split(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| if input.is_empty() { 0 } else { c % input.len() })
        .collect();
    points.push(0);
    points.push(input.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| input[w[0]..w[1]].to_vec())
        .collect()
}

fn decode_chunks(framing: Framing, chunks: &[Vec<u8>]) -> (Vec<Vec<u8>>, Option<Error>) {
    let mut d = Decoder::new(framing);
    let mut frames = Vec::new();
    for chunk in chunks {
        d.feed(chunk);
        let (mut got, error) = drain(&mut d);
        frames.append(&mut got);
        if error.is_some() {
            return (frames, error);
        }
    }
    (frames, None)
}

const KINDS: [Option<&str>; 5] = [
    None,
    Some("client"),
    Some("server"),
    Some("envelope"),
    Some("bogus"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_message_round_trips(m in message()) {
        let kind = kind_of(&m);
        let wire = Assa::encode(&m).unwrap();
        prop_assert_eq!(Assa::validate(kind, &wire), vec![]);
        prop_assert_eq!(Assa::decode(kind, &wire), Ok(m.clone()));
        if let Some(direction) = m.body.direction() {
            let forced = match direction {
                Direction::ClientToServer => "client",
                Direction::ServerToClient => "server",
            };
            prop_assert_eq!(Assa::decode(Some(forced), &wire), Ok(m.clone()));
        }
        let wire_value: Value = serde_json::from_slice(&wire).unwrap();
        prop_assert_eq!(wire_value["action"].as_str(), Some(&*m.action()));
    }

    #[test]
    fn framed_messages_round_trip_in_both_framings(
        messages in vec(message(), 1..5),
        prefixed in any::<bool>(),
    ) {
        let framing = if prefixed { Framing::LengthPrefixed } else { Framing::JsonStream };
        let stream: Vec<u8> = messages.iter().flat_map(|m| framing::encode(framing, m).unwrap()).collect();
        let (frames, error) = decode_chunks(framing, &[stream]);
        prop_assert_eq!(error, None);
        let decoded: Vec<Message> = frames
            .iter()
            .zip(&messages)
            .map(|(f, m)| Assa::decode(kind_of(m), f).unwrap())
            .collect();
        prop_assert_eq!(decoded, messages);
    }

    #[test]
    fn any_chunking_decodes_like_the_whole_stream(
        messages in vec(message(), 1..6),
        separators in vec(select(vec!["", "\n", " ", "\r\n", "\n\n\t"]), 6),
        prefixed in any::<bool>(),
        cuts in vec(any::<usize>(), 0..24),
    ) {
        let framing = if prefixed { Framing::LengthPrefixed } else { Framing::JsonStream };
        let mut stream = Vec::new();
        for (m, sep) in messages.iter().zip(&separators) {
            match framing {
                Framing::JsonStream => {
                    stream.extend(Assa::encode(m).unwrap());
                    stream.extend(sep.as_bytes());
                }
                Framing::LengthPrefixed => stream.extend(framing::encode(framing, m).unwrap()),
            }
        }
        let whole = decode_chunks(framing, std::slice::from_ref(&stream));
        prop_assert_eq!(whole.0.len(), messages.len());
        prop_assert_eq!(&whole.1, &None);
        let chunked = decode_chunks(framing, &split(&stream, &cuts));
        prop_assert_eq!(chunked, whole);
        if framing == Framing::JsonStream {
            let frames: Vec<Vec<u8>> = Assa::frames(&stream).iter().map(|f| f.bytes.to_vec()).collect();
            prop_assert_eq!(frames, decode_chunks(framing, &[stream.clone()]).0);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_agrees_with_validate(
        input in prop_oneof![
            vec(any::<u8>(), 0..256),
            vec(select(b"{}[]\":,\\ \nax0-".to_vec()), 0..256),
        ],
        cuts in vec(any::<usize>(), 0..8),
    ) {
        for kind in KINDS {
            let decoded = Assa::decode(kind, &input);
            let violations = Assa::validate(kind, &input);
            prop_assert_eq!(decoded.is_ok(), violations.is_empty());
            if let Err(e) = decoded {
                prop_assert_eq!(e.rule(), violations[0].rule);
            }
        }
        for frame in Assa::frames(&input) {
            let _ = Assa::validate(None, frame.bytes);
        }
        for framing in [Framing::JsonStream, Framing::LengthPrefixed] {
            let _ = decode_chunks(framing, &split(&input, &cuts));
        }
    }

    #[test]
    fn arbitrary_assa_shaped_json_never_panics_and_decode_agrees_with_validate(
        value in assa_like(),
    ) {
        let input = bytes(&value);
        for kind in KINDS {
            let decoded = Assa::decode(kind, &input);
            let violations = Assa::validate(kind, &input);
            prop_assert_eq!(decoded.is_ok(), violations.is_empty(), "{:?}", violations);
            match decoded {
                Err(e) => {
                    prop_assert_eq!(e.rule(), violations[0].rule);
                    prop_assert!(!e.spec().is_empty());
                }
                Ok(m) => {
                    // What is accepted re-encodes to the same JSON.
                    prop_assert_eq!(serde_json::from_slice::<Value>(&Assa::encode(&m).unwrap()).unwrap(), value.clone());
                }
            }
        }
    }

    #[test]
    fn decoder_never_holds_more_than_the_limit_plus_one_chunk(
        input in prop_oneof![
            vec(any::<u8>(), 0..2048),
            vec(select(b"{}[]\"\\ \nab".to_vec()), 0..2048),
        ],
        limit in 8usize..256,
        chunk_sizes in vec(1usize..96, 1..64),
        prefixed in any::<bool>(),
    ) {
        let framing = if prefixed { Framing::LengthPrefixed } else { Framing::JsonStream };
        let mut d = Decoder::with_max_frame(framing, limit);
        let mut rest = &input[..];
        let mut sizes = chunk_sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            d.feed(chunk);
            prop_assert!(d.buffered() <= limit + chunk.len(), "{} > {} + {}", d.buffered(), limit, chunk.len());
            loop {
                match d.next_frame() {
                    Ok(Some(frame)) => prop_assert!(frame.len() <= limit),
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert!(d.next_frame() == Err(e));
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn unix_millis_round_trip(millis in Timestamp::MIN_UNIX_MILLIS..=Timestamp::MAX_UNIX_MILLIS) {
        let t = Timestamp::from_unix_millis(millis);
        prop_assert!(Timestamp::is_valid(t.as_str()));
        prop_assert_eq!(t.unix_millis(), millis);
    }
}
