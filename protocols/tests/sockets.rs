//! Tests of the `sockets` codec: unit cases and proptest round trips.

use proptest::prelude::*;
use protocols::sockets::{
    validate_notice, ChatMessage, Error, Event, Message, Notice, Section, Sockets,
};
use protocols::{CommonError, Dialect, Rule};
use serde_json::{json, Map, Value};

fn decode(kind: Option<&str>, text: &str) -> Result<Message, Error> {
    Sockets::decode(kind, text.as_bytes())
}

fn rules(kind: Option<&str>, text: &str) -> Vec<(String, &'static str)> {
    Sockets::validate(kind, text.as_bytes())
        .into_iter()
        .map(|v| (v.field, v.rule))
        .collect()
}

#[test]
fn event_arrays_and_bare_payloads_decode_to_the_same_event() {
    assert_eq!(
        decode(None, r#"["register","alice"]"#),
        Ok(Message::register("alice"))
    );
    assert_eq!(
        decode(Some("register"), r#""alice""#),
        Ok(Message::Payload(Event::Register("alice".into())))
    );
    assert_eq!(
        decode(None, r#"["message",{"from":"a","message":"hi"}]"#),
        Ok(Message::chat("a", "hi"))
    );
    assert_eq!(
        decode(Some("message"), r#"{"from":"a","message":"hi"}"#),
        Ok(Message::Payload(Event::Message(ChatMessage::new(
            "a", "hi"
        ))))
    );
    assert_eq!(
        decode(Some("register-ack"), "[false]"),
        Ok(Message::RegisterAck(false))
    );
    assert_eq!(
        Sockets::encode(&Message::register("alice")).unwrap(),
        br#"["register","alice"]"#
    );
    assert_eq!(
        Sockets::encode(&Message::RegisterAck(true)).unwrap(),
        b"[true]"
    );
}

#[test]
fn extra_message_fields_are_kept() {
    let text = r#"["message",{"from":"a","message":"hi","at":12}]"#;
    let message = decode(None, text).unwrap();
    let Message::Event(Event::Message(chat)) = &message else {
        panic!("not a chat message: {message:?}");
    };
    assert_eq!(chat.extra.get("at"), Some(&json!(12)));
    assert_eq!(
        serde_json::from_slice::<Value>(&Sockets::encode(&message).unwrap()).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );
}

#[test]
fn notices_are_built_and_recognised() {
    let joined = ChatMessage::joined("alice");
    assert_eq!(
        joined,
        ChatMessage::new("Server", "alice has joined the chat")
    );
    assert_eq!(ChatMessage::left("bob").message, "bob left the chat");
    assert_eq!(joined.notice(), Some(Notice::Joined("alice".into())));
    assert_eq!(
        Notice::parse("big bob left the chat"),
        Some(Notice::Left("big bob".into()))
    );
    assert_eq!(Notice::parse(" has joined the chat"), None);
    assert_eq!(
        Notice::parse("alice has left the chat").unwrap().username(),
        "alice has"
    );
    assert_eq!(Notice::parse("alice joined"), None);
    assert_eq!(
        validate_notice(&ChatMessage::new("alice", "bob has joined the chat")),
        Err(Error::BadNotice {
            field: "from".into(),
            reason: "a notice comes from `Server`, not `alice`".into()
        })
    );
    // Without the notice kind a message from `Server` is any message: the sender is untrusted.
    assert!(rules(None, r#"["message",{"from":"Server","message":"hello"}]"#).is_empty());
    assert_eq!(
        rules(Some("notice"), r#"{"from":"Server","message":"hello"}"#),
        vec![("message".into(), "bad-notice")]
    );
}

#[test]
fn every_broken_field_is_reported() {
    assert_eq!(
        rules(None, r#"["message",{"from":1}]"#),
        vec![
            ("[1].from".into(), "wrong-type"),
            ("[1].message".into(), "missing-field")
        ]
    );
    assert_eq!(
        rules(None, r#"["register",5,"x"]"#),
        vec![
            ("[2]".into(), "extra-argument"),
            ("[1]".into(), "wrong-type")
        ]
    );
}

#[test]
fn exact_errors() {
    assert_eq!(decode(None, "[]"), Err(Error::MissingEventName));
    assert_eq!(
        decode(None, r#"["disconnect","transport close"]"#),
        Err(Error::LocalOnlyEvent("disconnect".into()))
    );
    assert_eq!(
        decode(Some("disconnect"), "null"),
        Err(Error::LocalOnlyEvent("disconnect".into()))
    );
    assert_eq!(
        decode(None, r#"["join","room"]"#),
        Err(Error::UnknownEvent("join".into()))
    );
    assert_eq!(
        decode(None, r#"["register"]"#),
        Err(Error::MissingArgument { event: "register" })
    );
    assert_eq!(
        decode(None, r#"["register",""]"#),
        Err(Error::Common(CommonError::EmptyValue {
            field: "[1]".into(),
            spec: Section::RegisterEvents.spec()
        }))
    );
    assert_eq!(
        decode(Some("register-ack"), "[1]"),
        Err(Error::Common(CommonError::WrongType {
            field: "[0]".into(),
            expected: "a boolean",
            spec: Section::RegisterEvents.spec()
        }))
    );
    assert_eq!(
        decode(Some("register-ack"), "true"),
        Err(Error::NotAnArray { found: "a boolean" })
    );
    assert_eq!(decode(None, "\"\u{0}"), Err(Error::Common(CommonError::InvalidJson {
        reason: "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 2".into(),
        spec: "socket.io-protocol v5 §Sending and receiving data",
    })));
    assert_eq!(
        Sockets::decode(None, b"[\"\xff\"]"),
        Err(Error::Common(CommonError::InvalidUtf8 {
            spec: "socket.io-protocol v5 §Sending and receiving data"
        }))
    );
    assert_eq!(
        Error::LocalOnlyEvent("disconnect".into()).spec(),
        "001_13ce220237596520.txt §3.1.3 Disconnect events"
    );
    assert_eq!(
        Error::MissingArgument { event: "register" }.spec(),
        "001_13ce220237596520.txt §3.1.4 Register events"
    );
}

// ---- proptest ----

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_chat() -> impl Strategy<Value = ChatMessage> {
    (
        "\\PC{0,12}",
        "\\PC{0,30}",
        prop::collection::btree_map("x-[a-z]{1,4}", arb_json(), 0..3),
    )
        .prop_map(|(from, message, extra)| ChatMessage {
            from,
            message,
            extra: extra.into_iter().collect::<Map<_, _>>(),
        })
}

fn arb_username() -> impl Strategy<Value = String> {
    "\\PC{1,12}"
}

fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        arb_username().prop_map(Event::Register),
        arb_chat().prop_map(Event::Message),
    ]
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        arb_event().prop_map(Message::Event),
        arb_event().prop_map(Message::Payload),
        any::<bool>().prop_map(Message::RegisterAck),
    ]
}

fn kind_of(message: &Message) -> Option<&'static str> {
    match message {
        Message::Event(_) => None,
        Message::Payload(event) => Some(event.name()),
        Message::RegisterAck(_) => Some("register-ack"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_gives_back_every_message(message in arb_message()) {
        let bytes = Sockets::encode(&message).unwrap();
        let kind = kind_of(&message);
        prop_assert_eq!(Sockets::validate(kind, &bytes), vec![]);
        prop_assert_eq!(Sockets::decode(kind, &bytes), Ok(message));
    }

    #[test]
    fn notices_round_trip_with_the_notice_kind(user in arb_username(), joined in any::<bool>()) {
        let notice = if joined { Notice::Joined(user) } else { Notice::Left(user) };
        let message = Message::Payload(Event::Message(notice.to_message()));
        let bytes = Sockets::encode(&message).unwrap();
        prop_assert_eq!(Sockets::decode(Some("notice"), &bytes), Ok(message));
        prop_assert_eq!(validate_notice(&notice.to_message()), Ok(notice));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        kind in prop::option::of(prop_oneof![
            Just("message"), Just("register"), Just("register-ack"), Just("notice"), Just("x")
        ]),
    ) {
        let decoded = Sockets::decode(kind, &bytes);
        prop_assert_eq!(decoded.is_ok(), Sockets::validate(kind, &bytes).is_empty());
        for frame in Sockets::frames(&bytes) {
            let _ = Sockets::decode(kind, frame.bytes);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(
        value in arb_json(),
        name in prop_oneof![Just("message"), Just("register"), Just("disconnect"), Just("other")],
    ) {
        for text in [json!([name, value.clone()]), json!([name]), value.clone()] {
            let bytes = serde_json::to_vec(&text).unwrap();
            for kind in [None, Some("message"), Some("register"), Some("register-ack"), Some("notice")] {
                let decoded = Sockets::decode(kind, &bytes);
                prop_assert_eq!(decoded.is_ok(), Sockets::validate(kind, &bytes).is_empty());
            }
        }
    }
}
