//! Tests of the `socketcluster` codec: unit cases and proptest round trips.

use proptest::prelude::*;
use protocols::socketcluster::{
    AuthTokenData, CallId, CloseCode, Direction, DisconnectData, Error, ErrorObject, Event,
    EventBody, HandshakeRequest, HandshakeResponse, HandshakeStatus, KickOut, Kind, Message,
    Packet, ProtocolVersion, Publication, Response, Section, SocketCluster, Subscription,
};
use protocols::{CommonError, Dialect, Rule};
use serde_json::{json, Map, Value};

fn decode(kind: Option<&str>, text: &str) -> Result<Message, Error> {
    SocketCluster::decode(kind, text.as_bytes())
}

fn rules(kind: Option<&str>, text: &str) -> Vec<(String, &'static str)> {
    SocketCluster::validate(kind, text.as_bytes())
        .into_iter()
        .map(|v| (v.field, v.rule))
        .collect()
}

#[test]
fn ping_and_pong_follow_the_protocol_version() {
    assert_eq!(decode(None, "#1"), Ok(Message::Ping(ProtocolVersion::V1)));
    assert_eq!(
        decode(Some("v1"), "#2"),
        Ok(Message::Pong(ProtocolVersion::V1))
    );
    assert_eq!(
        decode(Some("v2"), ""),
        Ok(Message::Ping(ProtocolVersion::V2))
    );
    assert_eq!(
        decode(Some("v2+client"), ""),
        Ok(Message::Pong(ProtocolVersion::V2))
    );
    assert_eq!(
        decode(Some("server+v2"), ""),
        Ok(Message::Ping(ProtocolVersion::V2))
    );
    assert_eq!(decode(None, ""), Err(Error::EmptyMessage));
    assert_eq!(
        decode(Some("v2"), "#2"),
        Err(Error::WrongProtocolVersion {
            found: "#2".into(),
            expected: ProtocolVersion::V2
        })
    );
    assert_eq!(
        decode(Some("server"), "#2"),
        Err(Error::WrongDirection {
            what: "pong".into(),
            sender: Direction::Server
        })
    );
    // Only the exact tokens are pings: whitespace around them makes a non-JSON message.
    assert_eq!(rules(None, " #1"), vec![(String::new(), "invalid-json")]);
    assert_eq!(
        SocketCluster::encode(&Message::Ping(ProtocolVersion::V2)).unwrap(),
        b""
    );
    assert_eq!(
        SocketCluster::encode(&Message::Pong(ProtocolVersion::V1)).unwrap(),
        b"#2"
    );
}

#[test]
fn kinds_parse_and_refuse_repeats() {
    assert_eq!(
        "v2+server+handshake-response".parse::<Kind>(),
        Ok(Kind {
            version: ProtocolVersion::V2,
            direction: Some(Direction::Server),
            handshake_response: true,
        })
    );
    assert_eq!(
        "v1+v2".parse::<Kind>(),
        Err(protocols::UnknownKind::new("v1+v2"))
    );
    assert_eq!(
        decode(Some("client+server"), "#1"),
        Err(Error::UnknownKind("client+server".into()))
    );
    assert_eq!(SocketCluster::kind(None), Ok(Kind::default()));
}

#[test]
fn the_documents_handshake_decodes_to_typed_data() {
    let event = decode(None, r##"{"event":"#handshake","data":{},"cid":1}"##).unwrap();
    assert_eq!(
        event,
        Message::Event(Event {
            body: EventBody::Handshake(HandshakeRequest::default()),
            cid: Some(CallId::from(1)),
            extra: Map::new(),
        })
    );
    let response = decode(
        Some("handshake-response"),
        r#"{"rid":1,"data":{"id":"Y7Uw-jHCJP-gld4QAAAA","isAuthenticated":false,"pingTimeout":10000}}"#,
    )
    .unwrap();
    assert_eq!(
        response,
        Message::HandshakeResponse(HandshakeResponse::new(
            1,
            "Y7Uw-jHCJP-gld4QAAAA",
            10000,
            false
        ))
    );
    // Without the kind the same bytes are a plain response.
    assert!(matches!(
        decode(None, r#"{"rid":1,"data":{"id":"x"}}"#),
        Ok(Message::Response(_))
    ));
}

#[test]
fn handshake_token_null_and_absent_stay_apart() {
    let null = decode(
        None,
        r##"{"event":"#handshake","data":{"authToken":null},"cid":1}"##,
    );
    let absent = decode(None, r##"{"event":"#handshake","data":{},"cid":1}"##);
    assert_eq!(null, Ok(Message::Event(Event::handshake(1, Some(None)))));
    assert_eq!(absent, Ok(Message::Event(Event::handshake(1, None))));
    let encoded = SocketCluster::encode(&null.unwrap()).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&encoded).unwrap(),
        json!({"event": "#handshake", "data": {"authToken": null}, "cid": 1})
    );
}

#[test]
fn validate_reports_every_broken_handshake_field() {
    let found = rules(
        Some("handshake-response"),
        r#"{"rid":1,"data":{"pingTimeout":-5,"isAuthenticated":"no","authError":{"name":"E"}}}"#,
    );
    assert_eq!(
        found,
        vec![
            ("data.id".into(), "missing-field"),
            ("data.pingTimeout".into(), "wrong-type"),
            ("data.isAuthenticated".into(), "wrong-type"),
            ("data.authError.message".into(), "missing-field"),
        ]
    );
    assert_eq!(
        decode(Some("handshake-response"), r#"{"rid":1,"data":{}}"#),
        Err(Error::Common(CommonError::MissingField {
            field: "data.id".into(),
            spec: Section::Handshake.spec()
        }))
    );
}

#[test]
fn a_rejected_handshake_is_an_error_response() {
    let message = decode(
        Some("handshake-response"),
        r#"{"rid":1,"error":{"name":"HandshakeRejected","message":"no"}}"#,
    );
    assert_eq!(
        message,
        Ok(Message::Response(Response::error(
            1,
            ErrorObject::new("HandshakeRejected", "no")
        )))
    );
}

#[test]
fn packets_need_exactly_one_of_event_and_rid() {
    assert_eq!(
        decode(None, r#"{"event":"a","rid":1}"#),
        Err(Error::AmbiguousPacket)
    );
    assert_eq!(decode(None, r#"{"cid":1}"#), Err(Error::MissingEventOrRid));
    assert_eq!(
        decode(None, "[1]"),
        Err(Error::NotAnObject { found: "a number" })
    );
    assert_eq!(decode(None, "[]"), Err(Error::EmptyBatch));
    // Both problems of an ambiguous packet with a bad cid are reported.
    assert_eq!(
        rules(None, r#"{"event":"a","rid":1,"cid":[]}"#),
        vec![
            (String::new(), "ambiguous-packet"),
            ("cid".into(), "wrong-type")
        ]
    );
}

#[test]
fn call_ids_are_numbers_or_strings() {
    assert_eq!(
        decode(None, r#"{"event":"a","cid":"u-1"}"#),
        Ok(Message::Event(Event {
            body: EventBody::Custom {
                event: "a".into(),
                data: None
            },
            cid: Some(CallId::from("u-1")),
            extra: Map::new(),
        }))
    );
    assert_eq!(
        decode(None, r#"{"event":"a","cid":true}"#),
        Err(Error::Common(CommonError::WrongType {
            field: "cid".into(),
            expected: "a number or a string",
            spec: Section::EmittedEvents.spec()
        }))
    );
    assert_eq!(
        rules(None, r#"{"rid":{}}"#),
        vec![("rid".into(), "wrong-type")]
    );
}

#[test]
fn data_null_and_absent_stay_apart_and_extra_fields_survive() {
    for text in [
        r#"{"event":"a","data":null}"#,
        r#"{"event":"a"}"#,
        r#"{"rid":3,"data":null,"x":[1]}"#,
        r#"{"rid":3}"#,
    ] {
        let message = decode(None, text).unwrap();
        let encoded = SocketCluster::encode(&message).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&encoded).unwrap(),
            serde_json::from_str::<Value>(text).unwrap(),
            "{text}"
        );
    }
}

#[test]
fn reserved_events_are_checked() {
    assert_eq!(
        decode(None, r##"{"event":"#status"}"##),
        Err(Error::UnknownReservedEvent("#status".into()))
    );
    assert_eq!(
        rules(
            None,
            r##"[{"event":"#publish","data":{"channel":""}},{"event":"#subscribe","data":[]}]"##
        ),
        vec![
            ("[0].data.channel".into(), "empty-value"),
            ("[1].data".into(), "wrong-type")
        ]
    );
    assert_eq!(
        decode(None, r##"{"event":"#disconnect","data":{"code":5000}}"##),
        Err(Error::BadCloseCode(5000))
    );
    assert_eq!(
        rules(None, r##"{"event":"#disconnect","data":{"code":1000.5}}"##),
        vec![("data.code".into(), "wrong-type")]
    );
    assert_eq!(
        rules(
            Some("server"),
            r##"{"event":"#authenticate","data":"t","cid":1}"##
        ),
        vec![("event".into(), "wrong-direction")]
    );
    assert_eq!(
        rules(
            Some("client"),
            r##"{"event":"#kickOut","data":{"channel":"a"}}"##
        ),
        vec![("event".into(), "wrong-direction")]
    );
    // `#publish` and `#removeAuthToken` travel both ways.
    for direction in ["client", "server"] {
        assert!(rules(
            Some(direction),
            r##"{"event":"#publish","data":{"channel":"a"}}"##
        )
        .is_empty());
        assert!(rules(Some(direction), r##"{"event":"#removeAuthToken"}"##).is_empty());
    }
}

#[test]
fn the_server_publish_push_has_a_constructor() {
    let push = Message::Event(Event::publish("news", json!({"n": 1})));
    assert_eq!(
        serde_json::from_slice::<Value>(&SocketCluster::encode(&push).unwrap()).unwrap(),
        json!({"event": "#publish", "data": {"channel": "news", "data": {"n": 1}}})
    );
    let subscribe = Message::Event(Event::subscribe(2, "news"));
    assert_eq!(
        SocketCluster::encode(&subscribe).unwrap(),
        br##"{"event":"#subscribe","data":{"channel":"news"},"cid":2}"##
    );
}

#[test]
fn close_codes_have_meanings() {
    assert_eq!(
        CloseCode::from_code(4005),
        Some(CloseCode::HandshakeTimeout)
    );
    assert_eq!(CloseCode::HandshakeRejected.code(), 4008);
    assert_eq!(CloseCode::MessageBeforeHandshake.code(), 4009);
    assert_eq!(
        CloseCode::ClientPongTimeout.meaning(),
        "Client pong timed out"
    );
    assert_eq!(CloseCode::from_code(1004), None);
    assert_eq!(CloseCode::from_code(4010), None);
    assert!(CloseCode::Normal.is_normal() && !CloseCode::Abnormal.is_normal());
    for code in CloseCode::ALL {
        assert_eq!(CloseCode::from_code(code.code()), Some(code));
        assert!(!code.meaning().is_empty());
    }
}

#[test]
fn errors_cite_the_document_or_the_facts() {
    assert_eq!(
        Error::EmptyMessage.spec(),
        "002_57bad640c3a657d6.txt §The event layer: Ping and pong - Connection health check"
    );
    assert_eq!(
        Error::EmptyBatch.spec(),
        "specs/README.md §Facts: SocketCluster, as implemented"
    );
    assert_eq!(Error::AmbiguousPacket.rule(), "ambiguous-packet");
}

#[test]
fn frames_split_json_values_and_ping_tokens() {
    let stream = b"#1{\"rid\":1}\n#2 [{\"rid\":2}]{\"event\":\"a\"}  {broken";
    let frames: Vec<&[u8]> = SocketCluster::frames(stream)
        .iter()
        .map(|f| f.bytes)
        .collect();
    assert_eq!(
        frames,
        vec![
            &b"#1"[..],
            br#"{"rid":1}"#,
            b"#2",
            br#"[{"rid":2}]"#,
            br#"{"event":"a"}"#,
            b"{broken"
        ]
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

fn arb_extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x-[a-z]{1,4}", arb_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn arb_name() -> impl Strategy<Value = String> {
    "[^#\\p{C}][\\PC]{0,10}"
}

fn arb_call_id() -> impl Strategy<Value = CallId> {
    prop_oneof![
        any::<u64>().prop_map(CallId::from),
        any::<i64>().prop_map(|n| CallId::Number(n.into())),
        "\\PC{0,12}".prop_map(CallId::String),
    ]
}

fn arb_opt_json() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(arb_json())
}

fn arb_error() -> impl Strategy<Value = ErrorObject> {
    ("\\PC{0,10}", "\\PC{0,20}", arb_extra()).prop_map(|(name, message, extra)| ErrorObject {
        name,
        message,
        extra,
    })
}

fn arb_body() -> impl Strategy<Value = EventBody> {
    let token = prop::option::of(prop::option::of("[A-Za-z0-9._-]{1,30}"));
    prop_oneof![
        (token, arb_extra()).prop_map(|(auth_token, extra)| EventBody::Handshake(
            HandshakeRequest { auth_token, extra }
        )),
        (arb_name(), arb_opt_json(), arb_extra()).prop_map(|(channel, data, extra)| {
            EventBody::Publish(Publication {
                channel,
                data,
                extra,
            })
        }),
        (arb_name(), arb_extra())
            .prop_map(|(channel, extra)| EventBody::Subscribe(Subscription { channel, extra })),
        arb_name().prop_map(EventBody::Unsubscribe),
        arb_name().prop_map(EventBody::Authenticate),
        (arb_name(), arb_extra())
            .prop_map(|(token, extra)| EventBody::SetAuthToken(AuthTokenData { token, extra })),
        arb_opt_json().prop_map(EventBody::RemoveAuthToken),
        (arb_name(), arb_opt_json(), arb_extra()).prop_map(|(channel, message, extra)| {
            EventBody::KickOut(KickOut {
                channel,
                message,
                extra,
            })
        }),
        (1000u16..=4999, arb_opt_json(), arb_extra()).prop_map(|(code, data, extra)| {
            EventBody::Disconnect(DisconnectData { code, data, extra })
        }),
        (arb_name(), arb_opt_json()).prop_map(|(event, data)| EventBody::Custom { event, data }),
    ]
}

fn arb_event() -> impl Strategy<Value = Event> {
    (arb_body(), prop::option::of(arb_call_id()), arb_extra()).prop_map(|(body, cid, extra)| {
        // `#handshake` always carries a cid.
        let cid = match body {
            EventBody::Handshake(_) => Some(cid.unwrap_or(CallId::from(1))),
            _ => cid,
        };
        Event { body, cid, extra }
    })
}

fn arb_response() -> impl Strategy<Value = Response> {
    (
        arb_call_id(),
        arb_opt_json(),
        prop::option::of(arb_error()),
        arb_extra(),
    )
        .prop_map(|(rid, data, error, extra)| Response {
            rid,
            data,
            error,
            extra,
        })
}

fn arb_handshake_response() -> impl Strategy<Value = HandshakeResponse> {
    (
        arb_call_id(),
        "[A-Za-z0-9_-]{1,20}",
        any::<u64>(),
        any::<bool>(),
        prop::option::of(prop::option::of(arb_error())),
        arb_extra(),
        arb_extra(),
    )
        .prop_map(
            |(rid, id, ping_timeout, is_authenticated, auth_error, data_extra, extra)| {
                HandshakeResponse {
                    rid,
                    data: HandshakeStatus {
                        id,
                        ping_timeout,
                        is_authenticated,
                        auth_error,
                        extra: data_extra,
                    },
                    extra,
                }
            },
        )
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        arb_event().prop_map(Packet::Event),
        arb_response().prop_map(Packet::Response)
    ]
}

fn arb_version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V1), Just(ProtocolVersion::V2)]
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        arb_version().prop_map(Message::Ping),
        arb_version().prop_map(Message::Pong),
        arb_event().prop_map(Message::Event),
        arb_response().prop_map(Message::Response),
        arb_handshake_response().prop_map(Message::HandshakeResponse),
        prop::collection::vec(arb_packet(), 1..4).prop_map(Message::Batch),
    ]
}

/// The kind a message must be read with to come back as itself.
fn kind_of(message: &Message) -> Option<&'static str> {
    match message {
        Message::Ping(ProtocolVersion::V2) => Some("v2+server"),
        Message::Pong(ProtocolVersion::V2) => Some("v2+client"),
        Message::HandshakeResponse(_) => Some("handshake-response"),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_gives_back_every_message(message in arb_message()) {
        let bytes = SocketCluster::encode(&message).unwrap();
        let kind = kind_of(&message);
        prop_assert_eq!(SocketCluster::validate(kind, &bytes), vec![]);
        prop_assert_eq!(SocketCluster::decode(kind, &bytes), Ok(message));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        kind in prop::option::of(prop_oneof![
            Just("v1"), Just("v2"), Just("client"), Just("v2+server"),
            Just("handshake-response"), Just("nonsense")
        ]),
    ) {
        let decoded = SocketCluster::decode(kind, &bytes);
        let violations = SocketCluster::validate(kind, &bytes);
        prop_assert_eq!(decoded.is_ok(), violations.is_empty());
        for frame in SocketCluster::frames(&bytes) {
            let _ = SocketCluster::decode(kind, frame.bytes);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json(), event in prop_oneof![
        Just("#handshake"), Just("#publish"), Just("#subscribe"), Just("#unsubscribe"),
        Just("#authenticate"), Just("#setAuthToken"), Just("#kickOut"), Just("#disconnect"),
        Just("#removeAuthToken"), Just("custom")
    ]) {
        for text in [
            json!({"event": event, "data": value.clone(), "cid": 1}),
            json!({"rid": 1, "data": value.clone(), "error": value.clone()}),
            json!([value.clone()]),
        ] {
            let bytes = serde_json::to_vec(&text).unwrap();
            for kind in [None, Some("handshake-response"), Some("client")] {
                let decoded = SocketCluster::decode(kind, &bytes);
                prop_assert_eq!(decoded.is_ok(), SocketCluster::validate(kind, &bytes).is_empty());
            }
        }
    }

    #[test]
    fn a_concatenated_stream_splits_back_into_its_messages(
        messages in prop::collection::vec(
            arb_message().prop_filter("protocol-2 heartbeats are empty", |m| {
                !matches!(m, Message::Ping(ProtocolVersion::V2) | Message::Pong(ProtocolVersion::V2))
            }),
            1..6,
        ),
        separators in prop::collection::vec(prop_oneof![Just(""), Just("\n"), Just(" "), Just("\r\n")], 6),
    ) {
        let mut stream = Vec::new();
        let mut pieces = Vec::new();
        for (message, separator) in messages.iter().zip(&separators) {
            let bytes = SocketCluster::encode(message).unwrap();
            pieces.push((stream.len(), bytes.clone()));
            stream.extend_from_slice(&bytes);
            stream.extend_from_slice(separator.as_bytes());
        }
        let frames = SocketCluster::frames(&stream);
        prop_assert_eq!(frames.len(), messages.len());
        for ((frame, (offset, bytes)), message) in frames.iter().zip(&pieces).zip(&messages) {
            prop_assert_eq!(frame.offset, *offset);
            prop_assert_eq!(frame.bytes, &bytes[..]);
            prop_assert_eq!(&SocketCluster::decode(kind_of(message), frame.bytes).unwrap(), message);
        }
        // Split at any message boundary, each part frames to its own share of the messages.
        for (cut, _) in pieces.iter().skip(1) {
            let (head, tail) = stream.split_at(*cut);
            let parts: Vec<&[u8]> = SocketCluster::frames(head).iter()
                .chain(SocketCluster::frames(tail).iter())
                .map(|f| f.bytes)
                .collect();
            let whole: Vec<&[u8]> = frames.iter().map(|f| f.bytes).collect();
            prop_assert_eq!(parts, whole);
        }
    }
}
