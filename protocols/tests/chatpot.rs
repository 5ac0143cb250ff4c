//! Tests of the `chatpot` codec: unit cases and proptest round trips.

use proptest::prelude::*;
use protocols::chatpot::{
    Avatar, ChatMessage, Chatpot, Error, ErrorCode, Event, Form, Health, InitResult, Member,
    Message, MessageType, Nick, PostinitReq, Reception, ReceptionType, ServerError, Status,
};
use protocols::{CommonError, Dialect, Rule};
use serde_json::{json, Map, Value};

const DEPLOYED: &str = "specs/README.md §Facts: Chatpot, as deployed";
const SIGNAL_MESSAGE: &str = "000_407d4ff0bcbdf81c.txt §SIGNAL: message";
const SIGNAL_POSTINIT: &str = "000_407d4ff0bcbdf81c.txt §SIGNAL: postinit_req";

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn document_message() -> Value {
    json!({
        "message_id": "626446794155fd69c1b90b827b3d6931",
        "type": "TEXT",
        "from": {
            "token": "a6b365d853295c532f988916fb5413a2ab64a39c831c0292",
            "nick": {"en": "humble squid", "ko": "겸손한 꼴뚜기", "ja": "謙虚なるい"},
            "avatar": {"profile_img": "http://dev-cdn.chatpot.chat/a.png", "profile_thumb": "http://dev-cdn.chatpot.chat/thumb_a.jpg"},
            "region": "KR", "language": "ko", "gender": "M"
        },
        "to": {"type": "ROOM", "token": "26ef038d7696b09ec88bd788a64fbc2e5de58333a3785c98"},
        "content": "호옹",
        "sent_time": 1557896925469u64
    })
}

#[test]
fn misspelled_message_event_is_refused_citing_the_deployed_fact() {
    let input = bytes(&json!(["messasge", document_message()]));
    let error = Chatpot::decode(None, &input).unwrap_err();
    assert_eq!(error, Error::MisspelledEvent("messasge".into()));
    assert_eq!(error.rule(), "misspelled-event");
    assert_eq!(error.spec(), DEPLOYED);
    assert_eq!(
        Chatpot::decode(Some("messasge"), &bytes(&document_message())).unwrap_err(),
        Error::MisspelledEvent("messasge".into())
    );
}

#[test]
fn postinit_res_and_init_res_are_both_accepted_and_kept_apart() {
    let ok = bytes(&json!({"success": true}));
    let doc = Chatpot::decode(Some("postinit_res"), &ok).unwrap();
    let deployed = Chatpot::decode(Some("init_res"), &ok).unwrap();
    assert!(matches!(doc.event, Event::PostinitRes(_)));
    assert!(matches!(deployed.event, Event::InitRes(_)));
    assert_ne!(doc, deployed);
    let args = Chatpot::decode(None, br#"["init_res",{"success":true}]"#).unwrap();
    assert_eq!(args.form, Form::Args);
    assert_eq!(args.event, deployed.event);
}

#[test]
fn server_error_accepts_success_false_and_refuses_success_true() {
    let deployed =
        json!({"code": "INVALID_PARAM", "message": "invalid member_token", "success": false});
    let message = Chatpot::decode(Some("server_error"), &bytes(&deployed)).unwrap();
    let Event::ServerError(error) = &message.event else {
        panic!("not a server_error: {message:?}");
    };
    assert_eq!(error.code, ErrorCode::InvalidParam);
    assert_eq!(error.success, Some(false));
    assert_eq!(
        serde_json::from_slice::<Value>(&Chatpot::encode(&message).unwrap()).unwrap(),
        deployed
    );

    let wrong = json!({"code": "INVALID_PARAM", "message": "x", "success": true});
    assert_eq!(
        Chatpot::decode(Some("server_error"), &bytes(&wrong)).unwrap_err(),
        Error::WrongValue {
            field: "success".into(),
            expected: "false",
            spec: DEPLOYED
        }
    );
}

#[test]
fn empty_token_is_refused_as_the_deployed_server_refuses_it() {
    assert_eq!(
        Chatpot::decode(Some("postinit_req"), br#"{"token":""}"#).unwrap_err(),
        Error::Common(CommonError::EmptyValue {
            field: "token".into(),
            spec: SIGNAL_POSTINIT
        })
    );
}

#[test]
fn validate_reports_every_violation_with_its_path() {
    let mut message = document_message();
    message["from"]["nick"]
        .as_object_mut()
        .unwrap()
        .remove("ko");
    message["to"]["type"] = json!("USER");
    message["sent_time"] = json!(-5);
    message.as_object_mut().unwrap().remove("message_id");
    let violations = Chatpot::validate(Some("message"), &bytes(&message));
    let found: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            ("message_id", "missing-field"),
            ("from.nick.ko", "missing-field"),
            ("to.type", "unknown-reception-type"),
            ("sent_time", "out-of-range"),
        ]
    );
    assert!(violations.iter().all(|v| v.spec == SIGNAL_MESSAGE));
    // decode refuses with the first of them
    assert_eq!(
        Chatpot::decode(Some("message"), &bytes(&message)).unwrap_err(),
        Error::Common(CommonError::MissingField {
            field: "message_id".into(),
            spec: SIGNAL_MESSAGE
        })
    );
}

#[test]
fn from_is_null_only_for_notifications() {
    let mut notice = document_message();
    notice["type"] = json!("NOTIFICATION");
    notice["from"] = Value::Null;
    notice["content"] = json!({"notification_type": "ROOM_JOIN"});
    let decoded = Chatpot::decode(Some("message"), &bytes(&notice)).unwrap();
    let Event::Message(m) = &decoded.event else {
        panic!("not a message")
    };
    assert_eq!(m.from, None);
    // `null` stays `null` on the way back
    assert_eq!(
        serde_json::from_slice::<Value>(&Chatpot::encode(&decoded).unwrap()).unwrap()["from"],
        Value::Null
    );

    let mut text = document_message();
    text["from"] = Value::Null;
    assert_eq!(
        Chatpot::decode(Some("message"), &bytes(&text)).unwrap_err(),
        Error::Common(CommonError::WrongType {
            field: "from".into(),
            expected: "an object (null only for NOTIFICATION)",
            spec: SIGNAL_MESSAGE
        })
    );
}

#[test]
fn image_content_needs_both_urls() {
    let mut image = document_message();
    image["type"] = json!("IMAGE");
    image["content"] = json!({"image_url": "http://x/a.png"});
    assert_eq!(
        Chatpot::decode(Some("message"), &bytes(&image)).unwrap_err(),
        Error::Common(CommonError::MissingField {
            field: "content.thumb_url".into(),
            spec: SIGNAL_MESSAGE
        })
    );
}

#[test]
fn every_event_carries_exactly_one_argument() {
    assert_eq!(
        Chatpot::decode(None, br#"["postinit_req",{"token":"a"},{"token":"b"}]"#).unwrap_err(),
        Error::WrongArgumentCount {
            event: "postinit_req",
            found: 2,
            spec: SIGNAL_POSTINIT
        }
    );
    assert_eq!(
        Chatpot::decode(None, br#"["health_req"]"#).unwrap_err(),
        Error::WrongArgumentCount {
            event: "health_req",
            found: 0,
            spec: DEPLOYED
        }
    );
}

#[test]
fn status_is_a_body_not_an_event() {
    let body = json!({"host": "http://dev-ws-1.chatpot.chat", "port": 80, "num_connection": 0});
    assert!(Chatpot::decode(Some("status"), &bytes(&body)).is_ok());
    assert_eq!(
        Chatpot::decode(None, &bytes(&json!(["status", body]))).unwrap_err(),
        Error::UnknownEvent("status".into())
    );
    // built with `args`, a status still encodes bare
    let message = Message::args(Event::Status(Status {
        host: "http://h".into(),
        port: 80,
        num_connection: 1,
        extra: Map::new(),
    }));
    assert_eq!(message.form, Form::Bare);
    assert_eq!(
        serde_json::from_slice::<Value>(&Chatpot::encode(&message).unwrap()).unwrap(),
        json!({"host": "http://h", "port": 80, "num_connection": 1})
    );
}

#[test]
fn built_messages_encode_as_socket_io_arguments() {
    let message = Message::args(Event::PostinitReq(PostinitReq {
        token: "a6b3".into(),
        extra: Map::new(),
    }));
    assert_eq!(
        Chatpot::encode(&message).unwrap(),
        br#"["postinit_req",{"token":"a6b3"}]"#
    );
    let bare = Message::bare(Event::HealthRes(Health::default()));
    assert_eq!(Chatpot::encode(&bare).unwrap(), b"{}");
}

#[test]
fn unknown_fields_are_kept() {
    let input = json!({"code": "INVALID_PARAM", "message": "m", "trace": [1, 2]});
    let message = Chatpot::decode(Some("server_error"), &bytes(&input)).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&Chatpot::encode(&message).unwrap()).unwrap(),
        input
    );
}

#[test]
fn input_that_is_not_an_event_array_is_refused() {
    for (input, error) in [
        (
            &b"\xff"[..],
            Error::Common(CommonError::InvalidUtf8 {
                spec: "socket.io-protocol v5 §Packet encoding",
            }),
        ),
        (b"{}", Error::NotAnEventArray),
        (b"[]", Error::NotAnEventArray),
        (b"[1, {}]", Error::NotAnEventArray),
    ] {
        assert_eq!(Chatpot::decode(None, input).unwrap_err(), error);
    }
    assert_eq!(
        Chatpot::decode(None, b"").unwrap_err().rule(),
        "invalid-json"
    );
    assert_eq!(
        Chatpot::decode(Some("hello"), b"{}").unwrap_err(),
        Error::UnknownKind("hello".into())
    );
}

// ---- proptest strategies ----

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ]
}

fn extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-z]{1,6}", leaf(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,16}"
}

fn member() -> impl Strategy<Value = Member> {
    (
        "[0-9a-f]{48}",
        (text(), text(), text(), extra()),
        (text(), text(), extra()),
        ("[A-Z]{2}", "[a-z]{2}", "[MF]"),
        extra(),
    )
        .prop_map(
            |(token, (en, ko, ja, nx), (img, thumb, ax), (region, language, gender), extra)| {
                Member {
                    token,
                    nick: Nick {
                        en,
                        ko,
                        ja,
                        extra: nx,
                    },
                    avatar: Avatar {
                        profile_img: img,
                        profile_thumb: thumb,
                        extra: ax,
                    },
                    region,
                    language,
                    gender,
                    extra,
                }
            },
        )
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    (
        prop::sample::select(MessageType::ALL.to_vec()),
        "[0-9a-f]{32}",
        member(),
        any::<bool>(),
        ("[0-9a-f]{48}", extra()),
        text(),
        any::<u64>(),
        extra(),
    )
        .prop_map(
            |(kind, message_id, member, null_sender, (room, tx), body, sent_time, extra)| {
                let content = match kind {
                    MessageType::Text => Value::from(body),
                    MessageType::Image => json!({"image_url": body, "thumb_url": "t"}),
                    MessageType::Notification => json!({"notification_type": body}),
                };
                let from = (kind != MessageType::Notification || !null_sender).then_some(member);
                ChatMessage {
                    message_id,
                    kind,
                    from,
                    to: Reception {
                        kind: ReceptionType::Room,
                        token: room,
                        extra: tx,
                    },
                    content,
                    sent_time,
                    extra,
                }
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    let init = || {
        (extra()).prop_map(|extra| InitResult {
            success: true,
            extra,
        })
    };
    prop_oneof![
        (text(), any::<u16>(), any::<u64>(), extra()).prop_map(|(host, port, n, extra)| {
            Event::Status(Status {
                host,
                port,
                num_connection: n,
                extra,
            })
        }),
        (text(), prop::option::of(Just(false)), extra()).prop_map(|(message, success, extra)| {
            Event::ServerError(ServerError {
                code: ErrorCode::InvalidParam,
                message,
                success,
                extra,
            })
        }),
        ("[0-9a-f]{1,48}", extra())
            .prop_map(|(token, extra)| Event::PostinitReq(PostinitReq { token, extra })),
        init().prop_map(Event::PostinitRes),
        init().prop_map(Event::InitRes),
        extra().prop_map(|extra| Event::HealthReq(Health { extra })),
        extra().prop_map(|extra| Event::HealthRes(Health { extra })),
        chat_message().prop_map(|m| Event::Message(Box::new(m))),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (event(), any::<bool>()).prop_map(|(event, args)| {
        if args {
            Message::args(event)
        } else {
            Message::bare(event)
        }
    })
}

fn kind_of(message: &Message) -> Option<&'static str> {
    match message.form {
        Form::Args => None,
        Form::Bare => Some(message.event.name()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_round_trips(message in message()) {
        let kind = kind_of(&message);
        let encoded = Chatpot::encode(&message).unwrap();
        prop_assert_eq!(Chatpot::validate(kind, &encoded), vec![]);
        prop_assert_eq!(Chatpot::decode(kind, &encoded), Ok(message));
    }

    #[test]
    fn a_stream_of_argument_arrays_splits_back_into_messages(
        events in prop::collection::vec(event(), 0..5)
    ) {
        let messages: Vec<Message> = events
            .into_iter()
            .filter(|e| !matches!(e, Event::Status(_)))
            .map(Message::args)
            .collect();
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend(Chatpot::encode(m).unwrap());
            stream.push(b'\n');
        }
        let frames = Chatpot::frames(&stream);
        prop_assert_eq!(frames.len(), messages.len());
        for (frame, m) in frames.iter().zip(&messages) {
            prop_assert_eq!(&Chatpot::decode(None, frame.bytes).unwrap(), m);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(any::<u8>(), 0..256),
        kind in prop::option::of(prop::sample::select(vec![
            "status", "server_error", "postinit_req", "postinit_res", "init_res",
            "health_req", "health_res", "message", "messasge", "nope",
        ])),
    ) {
        let decoded = Chatpot::decode(kind, &input);
        let violations = Chatpot::validate(kind, &input);
        prop_assert_eq!(decoded.is_ok(), violations.is_empty());
        if let Err(e) = decoded {
            prop_assert!(violations.iter().any(|v| v.rule == e.rule()));
        }
        let _ = Chatpot::frames(&input);
    }

    #[test]
    fn arbitrary_json_payloads_never_panic_and_agree(
        value in leaf().prop_recursive(4, 32, 6, |inner| prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "token", "code", "message", "success", "host", "port", "num_connection",
                    "message_id", "type", "from", "to", "content", "sent_time", "nick", "x",
                ]).prop_map(str::to_owned),
                inner,
                0..6,
            ).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]),
        kind in prop::sample::select(vec![
            "status", "server_error", "postinit_req", "postinit_res", "init_res",
            "health_req", "health_res", "message",
        ]),
    ) {
        let input = bytes(&value);
        let decoded = Chatpot::decode(Some(kind), &input);
        let violations = Chatpot::validate(Some(kind), &input);
        prop_assert_eq!(decoded.is_ok(), violations.is_empty());
        if let Ok(message) = decoded {
            let again = serde_json::from_slice::<Value>(&Chatpot::encode(&message).unwrap()).unwrap();
            prop_assert_eq!(again, value);
        }
    }
}
