//! Tests of the `socketio` codec: unit cases and proptest round trips.

use proptest::prelude::*;
use protocols::engineio::{
    self, EioVersion, Handshake, Packet as EioPacket, PacketData, PacketType as EioType, Payload,
};
use protocols::socketio::{
    Config, Content, Data, Error, FullPacket, Message, Packet, PacketType, Reassembler, SioVersion,
    Transport, MAX_ACK_ID,
};
use protocols::{Dialect, Rule};
use serde_json::{json, Value};

fn sio(version: SioVersion, text: &str) -> Result<Packet, Error> {
    Packet::decode(version, text)
}

fn rules(kind: &str, input: &[u8]) -> Vec<&'static str> {
    Transport::validate(Some(kind), input)
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

// ---------------------------------------------------------------- unit tests

#[test]
fn event_data_must_be_a_non_empty_array_with_a_string_name() {
    assert_eq!(sio(SioVersion::V5, "2[]"), Err(Error::EmptyEvent));
    assert_eq!(
        sio(SioVersion::V5, "2{}"),
        Err(Error::WrongType {
            field: "data",
            expected: "an array",
            version: SioVersion::V5
        })
    );
    assert_eq!(
        sio(SioVersion::V5, r#"2[{"toString":"foo"}]"#),
        Err(Error::InvalidEventName { found: "an object" })
    );
    assert_eq!(
        sio(SioVersion::V4, r#"2[1,"a"]"#),
        Err(Error::InvalidEventName { found: "a number" })
    );
    for name in protocols::socketio::RESERVED_EVENTS {
        assert_eq!(
            sio(SioVersion::V5, &format!(r#"2["{name}"]"#)),
            Err(Error::ReservedEventName {
                name: name.to_owned()
            })
        );
    }
    assert_eq!(
        sio(SioVersion::V5, "2"),
        Err(Error::MissingPayload {
            packet_type: PacketType::Event
        })
    );
}

#[test]
fn placeholder_index_must_be_an_integer_in_range() {
    // CVE-2022-2421: `num` was used as a property name.
    assert!(matches!(
        sio(
            SioVersion::V5,
            r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#
        ),
        Err(Error::InvalidPlaceholder { .. })
    ));
    assert!(matches!(
        sio(SioVersion::V5, r#"51-["a",{"_placeholder":true,"num":-1}]"#),
        Err(Error::InvalidPlaceholder { .. })
    ));
    assert!(matches!(
        sio(
            SioVersion::V5,
            r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#
        ),
        Err(Error::InvalidPlaceholder { .. })
    ));
    assert_eq!(
        sio(SioVersion::V5, r#"50-["a",{"_placeholder":true,"num":0}]"#),
        Err(Error::PlaceholderWithoutAttachments)
    );
    assert_eq!(
        sio(SioVersion::V5, r#"2["a",{"_placeholder":true,"num":0}]"#),
        Err(Error::PlaceholderWithoutAttachments)
    );
    assert_eq!(
        sio(SioVersion::V5, r#"52-["a",{"_placeholder":true,"num":0}]"#),
        Err(Error::AttachmentCountMismatch {
            declared: 2,
            placeholders: 1
        })
    );
    assert_eq!(
        sio(SioVersion::V5, r#"51-["a"]"#),
        Err(Error::AttachmentCountMismatch {
            declared: 1,
            placeholders: 0
        })
    );
}

#[test]
fn attachment_count_and_size_are_bounded_by_the_config() {
    let config = Config {
        max_attachments: 2,
        max_packet_size: 30,
    };
    assert_eq!(
        Packet::decode_with(SioVersion::V5, r#"53-["a"]"#, &config),
        Err(Error::TooManyAttachments { count: 3, max: 2 })
    );
    assert_eq!(
        Packet::decode_with(SioVersion::V5, r#"599999999999999999999999-["a"]"#, &config),
        Err(Error::TooManyAttachments {
            count: usize::MAX,
            max: 2
        })
    );
    let long = format!(r#"2["{}"]"#, "x".repeat(40));
    assert_eq!(
        Packet::decode_with(SioVersion::V5, &long, &config),
        Err(Error::PacketTooLarge { size: 45, max: 30 })
    );
    assert_eq!(Config::default().max_attachments, 10);
    assert_eq!(Config::default().max_packet_size, 1_000_000);
}

#[test]
fn ack_ids_are_canonical_integers_within_javascript_range() {
    let p = sio(SioVersion::V5, &format!(r#"2{MAX_ACK_ID}["a"]"#)).unwrap();
    assert_eq!(p.id, Some(MAX_ACK_ID));
    assert_eq!(
        sio(SioVersion::V5, &format!(r#"2{}["a"]"#, MAX_ACK_ID + 1)),
        Err(Error::AckIdTooLarge {
            found: (MAX_ACK_ID + 1).to_string()
        })
    );
    assert_eq!(
        sio(SioVersion::V5, r#"2007["a"]"#),
        Err(Error::InvalidAckId {
            found: "007".into()
        })
    );
    assert_eq!(
        sio(SioVersion::V5, r#"3["a"]"#),
        Err(Error::MissingAckId {
            packet_type: PacketType::Ack
        })
    );
    assert_eq!(
        sio(SioVersion::V5, "112"),
        Err(Error::UnexpectedAckId {
            packet_type: PacketType::Disconnect
        })
    );
}

#[test]
fn namespaces_start_with_a_slash_and_end_with_a_comma() {
    let p = sio(SioVersion::V5, r#"2/admin,13["foo"]"#).unwrap();
    assert_eq!(p.namespace, "/admin");
    assert_eq!(p.id, Some(13));
    assert_eq!(p.event_name(), Some("foo"));
    assert!(matches!(
        sio(SioVersion::V5, "1/admin"),
        Err(Error::InvalidNamespace { .. })
    ));
    assert!(matches!(
        sio(SioVersion::V5, r#"2admin,["a"]"#),
        Err(Error::InvalidNamespace { .. })
    ));
    let built = Packet::disconnect("admin");
    assert!(matches!(
        built.violations(SioVersion::V5, &Config::default()).first(),
        Some((_, Error::InvalidNamespace { .. }))
    ));
}

#[test]
fn malformed_packets_of_the_socket_io_test_suite_are_refused() {
    assert_eq!(
        Transport::decode(Some("eio4"), b"4abc"),
        Err(Error::UnknownPacketType { found: "a".into() })
    );
    assert_eq!(rules("eio4", b"42{}"), ["wrong-type"]);
    assert_eq!(
        Transport::decode(Some("eio4"), br#"42abc["a"]"#),
        Err(Error::InvalidJson)
    );
    assert_eq!(
        Transport::decode(Some("eio4"), br#"42["a"]x"#),
        Err(Error::TrailingData)
    );
    assert_eq!(
        Transport::decode(Some("eio4"), br#"42 ["a"]"#),
        Err(Error::InvalidJson)
    );
}

#[test]
fn versions_differ_on_connect_and_connect_error() {
    // v5 CONNECT may carry auth; v4 CONNECT carries nothing.
    assert!(sio(SioVersion::V5, r#"0{"token":"123"}"#).is_ok());
    assert_eq!(
        sio(SioVersion::V4, r#"0{"token":"123"}"#),
        Err(Error::UnexpectedPayload {
            packet_type: PacketType::Connect,
            version: SioVersion::V4
        })
    );
    // v4 namespaces may carry a query.
    assert_eq!(
        sio(SioVersion::V4, "0/admin?token=1234&uid=abcd,")
            .unwrap()
            .namespace,
        "/admin?token=1234&uid=abcd"
    );
    // v5 CONNECT_ERROR is {message, data?}; v4 ERROR is any JSON.
    assert!(sio(SioVersion::V5, r#"4{"message":"no","data":{"a":1}}"#).is_ok());
    assert!(sio(SioVersion::V4, r#"4/admin,"Not authorized""#).is_ok());
    assert!(sio(SioVersion::V4, "4").is_ok());
    assert_eq!(
        sio(SioVersion::V5, "4"),
        Err(Error::MissingPayload {
            packet_type: PacketType::ConnectError
        })
    );
    assert_eq!(
        sio(SioVersion::V5, r#"4{"message":1}"#),
        Err(Error::WrongType {
            field: "data.message",
            expected: "a string",
            version: SioVersion::V5
        })
    );
    assert_eq!(
        Packet::connect_error("/", "Not authorized", None).encode(),
        r#"4{"message":"Not authorized"}"#
    );
    assert_eq!(
        Packet::error_v4("/admin", "Not authorized").encode(),
        r#"4/admin,"Not authorized""#
    );
}

#[test]
fn validate_reports_every_violation() {
    // An ACK with no id and a payload that is not an array: two rules.
    let v = Transport::validate(Some("sio5"), br#"3"x""#);
    let found: Vec<(&str, &str)> = v.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(found, [("id", "missing-ack-id"), ("data", "wrong-type")]);
    // Two bad packets in one payload, each reported at its index.
    let v = Transport::validate(Some("eio4-payload"), b"42[]\x1e2\x1e1x");
    let found: Vec<(&str, &str)> = v.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        found,
        [
            ("packets[0].data", "empty-event"),
            ("packets[2]", "unexpected-data")
        ]
    );
    // A handshake missing two fields.
    let v = Transport::validate(Some("eio4-handshake"), br#"{"sid":"x","pingInterval":1}"#);
    let found: Vec<(&str, &str)> = v.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        found,
        [
            ("upgrades", "missing-field"),
            ("pingTimeout", "missing-field"),
            ("maxPayload", "missing-field")
        ]
    );
    for v in Transport::validate(Some("sio5"), br#"3"x""#) {
        assert!(!v.spec.is_empty());
    }
}

#[test]
fn v3_payload_lengths_count_utf16_code_units() {
    let payload = Payload::new(vec![EioPacket::message("hello"), EioPacket::message("€")]);
    assert_eq!(payload.encode(EioVersion::V3), "6:4hello2:4€");
    let emoji = Payload::new(vec![EioPacket::message("😀")]);
    assert_eq!(emoji.encode(EioVersion::V3), "3:4😀");
    assert_eq!(
        Payload::decode(EioVersion::V3, "3:4😀".as_bytes()).unwrap(),
        emoji
    );
    assert_eq!(
        Payload::decode(EioVersion::V3, "2:4😀".as_bytes()),
        Err(engineio::Error::InvalidLength { found: "2".into() })
    );
    assert_eq!(Payload::default().encode(EioVersion::V3), "0:");
    assert_eq!(
        Payload::decode(EioVersion::V3, b"0:").unwrap(),
        Payload::default()
    );
}

#[test]
fn v3_payload_errors_never_panic_and_are_exact() {
    use engineio::Error as E;
    let cases: [(&[u8], E); 8] = [
        (b"", E::EmptyPayload),
        (b"12", E::Truncated),
        (b"99:4hello", E::Truncated),
        (b"1a:4", E::InvalidLength { found: "1a".into() }),
        (b":4", E::InvalidLength { found: "".into() }),
        (
            b"99999999999:4",
            E::InvalidLength {
                found: "99999999999".into(),
            },
        ),
        (b"\x01\x09\xff\x04\x01", E::Truncated),
        (b"\x00\x02\xff\xff\xfe", E::InvalidUtf8 { offset: 3 }),
    ];
    for (input, expected) in cases {
        assert_eq!(
            Payload::decode(EioVersion::V3, input),
            Err(expected),
            "{input:?}"
        );
    }
}

#[test]
fn v3_xhr2_payload_matches_the_document_example() {
    let bytes = [
        0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 0x01, 0x02, 0x03, 0x04,
    ];
    let payload = Payload::new(vec![
        EioPacket::message("€"),
        EioPacket::binary(vec![1, 2, 3, 4]),
    ]);
    assert_eq!(payload.encode_binary(), bytes);
    assert_eq!(Payload::decode(EioVersion::V3, &bytes).unwrap(), payload);
    assert_eq!(payload.encode(EioVersion::V3), "2:4€10:b4AQIDBA==");
}

#[test]
fn v4_payload_uses_record_separator_and_base64() {
    let payload = Payload::new(vec![
        EioPacket::message("hello"),
        EioPacket::binary(vec![1, 2, 3, 4]),
    ]);
    assert_eq!(payload.encode(EioVersion::V4), "4hello\x1ebAQIDBA==");
    assert_eq!(
        Payload::decode(EioVersion::V4, b"4hello\x1ebAQIDBA==").unwrap(),
        payload
    );
    assert_eq!(
        Payload::decode(EioVersion::V4, b"4hello\x1ebAQIDBA="),
        Err(engineio::Error::InvalidBase64)
    );
    assert_eq!(
        Payload::decode(EioVersion::V4, b"4a\x1e"),
        Err(engineio::Error::EmptyPacket)
    );
    let small = engineio::Config { max_payload: 4 };
    assert_eq!(
        Payload::decode_with(EioVersion::V4, b"4hello", &small),
        Err(engineio::Error::PayloadTooLarge { size: 6, max: 4 })
    );
}

#[test]
fn engine_packets_and_probes() {
    assert_eq!(
        EioPacket::ping_probe().encode_text(EioVersion::V4),
        "2probe"
    );
    assert_eq!(
        EioPacket::pong_probe().encode_text(EioVersion::V3),
        "3probe"
    );
    assert!(EioPacket::decode(EioVersion::V4, "3probe")
        .unwrap()
        .is_probe());
    assert_eq!(
        EioPacket::decode(EioVersion::V4, "2hello"),
        Err(engineio::Error::UnexpectedData {
            packet_type: EioType::Ping
        })
    );
    // v3 pongs echo whatever the ping carried.
    assert!(EioPacket::decode(EioVersion::V3, "2hello").is_ok());
    assert_eq!(
        EioPacket::decode(EioVersion::V4, "5x"),
        Err(engineio::Error::UnexpectedData {
            packet_type: EioType::Upgrade
        })
    );
    let bin = EioPacket::binary(vec![0, 1, 2]);
    assert_eq!(bin.encode_binary(EioVersion::V3), [4, 0, 1, 2]);
    assert_eq!(bin.encode_binary(EioVersion::V4), [0, 1, 2]);
    assert_eq!(bin.encode_text(EioVersion::V3), "b4AAEC");
    assert_eq!(bin.encode_text(EioVersion::V4), "bAAEC");
    assert_eq!(
        EioPacket::decode_binary(EioVersion::V3, &[9, 1]),
        Err(engineio::Error::UnknownPacketType {
            found: "0x09".into()
        })
    );
}

#[test]
fn handshake_is_typed_and_version_aware() {
    let text = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    let h = Handshake::decode(EioVersion::V4, text).unwrap();
    assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
    assert_eq!(h.upgrades.as_deref(), Some(&["websocket".to_owned()][..]));
    assert_eq!((h.ping_interval, h.ping_timeout), (25000, 20000));
    assert_eq!(h.max_payload, Some(1_000_000));
    assert_eq!(
        serde_json::from_str::<Value>(&h.encode()).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );
    let v3 = r#"{"sid":"a","pingInterval":25000,"pingTimeout":5000}"#;
    assert!(Handshake::decode(EioVersion::V3, v3).is_ok());
    assert_eq!(
        Handshake::decode(EioVersion::V4, v3),
        Err(engineio::Error::MissingField { field: "upgrades" })
    );
    let open = EioPacket::open(&h);
    let m = Transport::decode(Some("eio4"), open.encode_text(EioVersion::V4).as_bytes()).unwrap();
    assert!(matches!(m, Message::Packet { content: Content::Handshake(ref x), .. } if *x == h));
}

#[test]
fn binary_event_deconstructs_and_reconstructs() {
    // The document's example: ["baz", <Buffer 01 02 03 04>] in "/".
    let full = FullPacket {
        packet_type: PacketType::Event,
        namespace: "/".into(),
        id: None,
        data: Some(Data::Array(vec![
            Data::String("baz".into()),
            Data::Binary(vec![1, 2, 3, 4]),
        ])),
    };
    let (text, attachments) = full.encode();
    assert_eq!(text, r#"51-["baz",{"_placeholder":true,"num":0}]"#);
    assert_eq!(attachments, [vec![1, 2, 3, 4]]);
    assert_eq!(
        FullPacket::decode(SioVersion::V5, &text, &attachments).unwrap(),
        full
    );
    assert_eq!(
        FullPacket::decode(SioVersion::V5, &text, &[]),
        Err(Error::WrongAttachmentCount {
            expected: 1,
            received: 0
        })
    );
}

#[test]
fn reassembler_waits_for_every_attachment() {
    let mut r = Reassembler::new(SioVersion::V5, Config::default());
    assert_eq!(
        r.push_text(
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        ),
        Ok(None)
    );
    assert!(r.is_waiting());
    assert_eq!(r.push_binary(&[1, 2]), Ok(None));
    let done = r.push_binary(&[3, 4]).unwrap().unwrap();
    assert_eq!(done.packet_type, PacketType::Event);
    assert_eq!(done.namespace, "/admin");
    assert_eq!(
        done.data,
        Some(Data::Array(vec![
            Data::String("baz".into()),
            Data::Binary(vec![1, 2]),
            Data::Binary(vec![3, 4]),
        ]))
    );
    assert_eq!(r.push_binary(&[0]), Err(Error::UnexpectedAttachment));
    assert_eq!(
        r.push_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        Ok(None)
    );
    assert_eq!(r.push_text(r#"2["a"]"#), Err(Error::AttachmentExpected));
    assert!(!r.is_waiting());
    let plain = r.push_text(r#"2["a"]"#).unwrap().unwrap();
    assert_eq!(
        plain.data,
        Some(Data::Array(vec![Data::String("a".into())]))
    );
}

#[test]
fn kinds_select_the_layer() {
    assert_eq!(
        Transport::decode(Some("eio5"), b"2"),
        Err(Error::UnknownKind("eio5".into()))
    );
    // No kind: an Engine.IO v4 text frame carrying Socket.IO v5.
    let m = Transport::decode(None, br#"42["hey","Jude"]"#).unwrap();
    let Message::Packet {
        content: Content::Socket(p),
        ..
    } = &m
    else {
        panic!("{m:?}")
    };
    assert_eq!(p.event_name(), Some("hey"));
    assert_eq!(p.args(), [json!("Jude")]);
    // `-raw` leaves message data opaque.
    assert!(Transport::decode(Some("eio4-raw"), b"4abc").is_ok());
    // v3 binary frames are recognised by their first byte.
    assert!(matches!(
        Transport::decode(Some("eio3"), &[4, 1, 2, 3]).unwrap(),
        Message::Packet {
            binary_frame: true,
            ..
        }
    ));
    let built = Message::socket(
        EioVersion::V4,
        Packet::event("/", "hello", vec![json!(1)], Some(3)),
    );
    assert_eq!(Transport::encode(&built).unwrap(), br#"423["hello",1]"#);
    assert_eq!(
        Transport::decode(Some("eio4"), &Transport::encode(&built).unwrap()),
        Ok(built)
    );
}

#[test]
fn frames_are_lines() {
    let stream = b"2probe\r\n3probe\n\n42[\"a\"]\n";
    let frames = Transport::frames(stream);
    let got: Vec<&[u8]> = frames.iter().map(|f| f.bytes).collect();
    assert_eq!(got, [&b"2probe"[..], b"3probe", br#"42["a"]"#]);
    assert_eq!(frames[2].offset, 16);
}

#[test]
fn engine_errors_keep_their_rule_through_the_transport() {
    let e = Transport::decode(Some("eio4-payload"), b"4a\x1eb!!").unwrap_err();
    assert_eq!(e, Error::Engine(engineio::Error::InvalidBase64));
    assert_eq!(e.rule(), "invalid-base64");
    assert_eq!(e.spec(), "engine.io-protocol v4 §Packet encoding");
}

// ---------------------------------------------------------------- strategies

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z é€😀\"\\\\]{0,6}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-z0-9_?=&-]{1,8}"]
}

fn event_name() -> impl Strategy<Value = String> {
    "[a-z:_-]{1,10}".prop_filter("reserved", |n| {
        !protocols::socketio::RESERVED_EVENTS.contains(&n.as_str())
    })
}

fn ack_id() -> impl Strategy<Value = u64> {
    prop_oneof![0..1000u64, 0..=MAX_ACK_ID]
}

fn placeholder(n: usize) -> Value {
    json!({"_placeholder": true, "num": n})
}

/// A valid Socket.IO packet of any type for a version.
fn sio_packet(version: SioVersion) -> impl Strategy<Value = Packet> {
    let args = || prop::collection::vec(json_value(), 0..4);
    let connect = (
        namespace(),
        prop::option::of(prop::collection::btree_map(
            "[a-z]{1,4}",
            json_value(),
            0..3,
        )),
    )
        .prop_map(move |(ns, auth)| {
            let data = match version {
                SioVersion::V4 => None,
                SioVersion::V5 => auth.map(|m| Value::Object(m.into_iter().collect())),
            };
            Packet::connect(&ns, data)
        });
    let disconnect = namespace().prop_map(|ns| Packet::disconnect(&ns));
    let event = (
        namespace(),
        event_name(),
        args(),
        prop::option::of(ack_id()),
    )
        .prop_map(|(ns, name, args, id)| Packet::event(&ns, &name, args, id));
    let ack = (namespace(), ack_id(), args()).prop_map(|(ns, id, args)| Packet::ack(&ns, id, args));
    let error = (
        namespace(),
        "[a-zA-Z ]{0,12}",
        prop::option::of(json_value()),
        json_value(),
    )
        .prop_map(move |(ns, message, data, any)| match version {
            SioVersion::V5 => Packet::connect_error(&ns, &message, data),
            SioVersion::V4 => {
                // Any JSON but a non-negative number, which would read as an ack id.
                let data = match any {
                    Value::Number(n) if n.as_i64().is_some_and(|n| n >= 0) => {
                        Value::String(message)
                    }
                    other => other,
                };
                Packet {
                    data: Some(data),
                    ..Packet::new(PacketType::ConnectError).in_namespace(&ns)
                }
            }
        });
    let binary = (
        namespace(),
        prop::bool::ANY,
        event_name(),
        args(),
        1..=10usize,
        ack_id(),
        prop::option::of(ack_id()),
    )
        .prop_map(|(ns, is_ack, name, args, n, id, event_id)| {
            let mut data = Vec::new();
            if !is_ack {
                data.push(Value::String(name));
            }
            data.extend(args);
            data.extend((0..n).map(placeholder));
            Packet {
                packet_type: if is_ack {
                    PacketType::BinaryAck
                } else {
                    PacketType::BinaryEvent
                },
                namespace: ns,
                attachments: n,
                id: if is_ack { Some(id) } else { event_id },
                data: Some(Value::Array(data)),
            }
        });
    prop_oneof![connect, disconnect, event, ack, error, binary]
}

fn sio_version() -> impl Strategy<Value = SioVersion> {
    prop_oneof![Just(SioVersion::V4), Just(SioVersion::V5)]
}

fn eio_version() -> impl Strategy<Value = EioVersion> {
    prop_oneof![Just(EioVersion::V3), Just(EioVersion::V4)]
}

fn handshake(version: EioVersion) -> impl Strategy<Value = Handshake> {
    (
        "[A-Za-z0-9_-]{1,20}",
        prop::option::of(prop::collection::vec("[a-z]{1,9}", 0..3)),
        any::<u32>(),
        any::<u32>(),
        prop::option::of(1..u64::from(u32::MAX)),
    )
        .prop_map(move |(sid, upgrades, pi, pt, mp)| Handshake {
            sid,
            upgrades: match version {
                EioVersion::V4 => Some(upgrades.unwrap_or_default()),
                EioVersion::V3 => upgrades,
            },
            ping_interval: u64::from(pi),
            ping_timeout: u64::from(pt),
            max_payload: match version {
                EioVersion::V4 => Some(mp.unwrap_or(1_000_000)),
                EioVersion::V3 => mp,
            },
            extra: serde_json::Map::new(),
        })
}

/// A valid Engine.IO packet of any type for a version (message text opaque).
fn eio_packet(version: EioVersion) -> impl Strategy<Value = EioPacket> {
    let text = "[^\u{1e}]{0,12}";
    let heartbeat = prop_oneof![Just(String::new()), Just("probe".to_owned())];
    let v3_heartbeat = prop_oneof![heartbeat.clone(), text.prop_map(|s| s)];
    prop_oneof![
        handshake(version).prop_map(|h| EioPacket::open(&h)),
        Just(EioPacket::empty(EioType::Close)),
        (
            prop::bool::ANY,
            if version == EioVersion::V3 {
                v3_heartbeat.boxed()
            } else {
                heartbeat.boxed()
            }
        )
            .prop_map(|(ping, d)| EioPacket::text(
                if ping { EioType::Ping } else { EioType::Pong },
                d
            )),
        text.prop_map(EioPacket::message),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(EioPacket::binary),
        Just(EioPacket::empty(EioType::Upgrade)),
        Just(EioPacket::empty(EioType::Noop)),
    ]
}

fn binary_data() -> impl Strategy<Value = Data> {
    let leaf = prop_oneof![
        json_leaf().prop_map(Data::from),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Data::Binary),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Data::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..4).prop_map(Data::Object),
        ]
    })
}

fn count_binary(d: &Data) -> usize {
    match d {
        Data::Binary(_) => 1,
        Data::Array(a) => a.iter().map(count_binary).sum(),
        Data::Object(o) => o.values().map(count_binary).sum(),
        _ => 0,
    }
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn socket_io_packets_round_trip((version, packet) in sio_version().prop_flat_map(|v| (Just(v), sio_packet(v)))) {
        let text = packet.encode();
        prop_assert_eq!(Packet::decode(version, &text), Ok(packet.clone()));
        // Wrapped in an Engine.IO message of the matching revision, through the dialect.
        let message = Message::socket(version.engine(), packet.clone());
        let kind = match version { SioVersion::V4 => "eio3", SioVersion::V5 => "eio4" };
        prop_assert_eq!(Transport::decode(Some(kind), &Transport::encode(&message).unwrap()), Ok(message));
        let bare = Message::Socket { version, packet };
        let kind = match version { SioVersion::V4 => "sio4", SioVersion::V5 => "sio5" };
        prop_assert_eq!(Transport::decode(Some(kind), &Transport::encode(&bare).unwrap()), Ok(bare));
    }

    #[test]
    fn engine_io_packets_round_trip((version, packet) in eio_version().prop_flat_map(|v| (Just(v), eio_packet(v)))) {
        let text = packet.encode_text(version);
        prop_assert_eq!(EioPacket::decode(version, &text), Ok(packet.clone()));
        if matches!(packet.data, PacketData::Binary(_)) {
            let frame = packet.encode_binary(version);
            prop_assert_eq!(EioPacket::decode_binary(version, &frame), Ok(packet.clone()));
        }
        let kind = match version { EioVersion::V3 => "eio3-raw", EioVersion::V4 => "eio4-raw" };
        let decoded = Transport::decode(Some(kind), text.as_bytes());
        prop_assert!(decoded.is_ok(), "{:?}", decoded);
        let decoded = decoded.unwrap();
        prop_assert_eq!(Transport::encode(&decoded).unwrap(), text.into_bytes());
    }

    #[test]
    fn handshakes_round_trip((version, h) in eio_version().prop_flat_map(|v| (Just(v), handshake(v)))) {
        prop_assert_eq!(Handshake::decode(version, &h.encode()), Ok(h.clone()));
        let kind = match version { EioVersion::V3 => "eio3-handshake", EioVersion::V4 => "eio4-handshake" };
        let m = Message::Handshake { version, handshake: h };
        prop_assert_eq!(Transport::decode(Some(kind), &Transport::encode(&m).unwrap()), Ok(m));
    }

    #[test]
    fn v4_payloads_round_trip(packets in prop::collection::vec(eio_packet(EioVersion::V4), 1..6)) {
        let payload = Payload::new(packets);
        let text = payload.encode(EioVersion::V4);
        prop_assert_eq!(Payload::decode(EioVersion::V4, text.as_bytes()), Ok(payload));
    }

    #[test]
    fn v3_payloads_round_trip(packets in prop::collection::vec(eio_packet(EioVersion::V3), 0..6)) {
        let payload = Payload::new(packets);
        let text = payload.encode(EioVersion::V3);
        prop_assert_eq!(Payload::decode(EioVersion::V3, text.as_bytes()), Ok(payload.clone()));
        if !payload.packets.is_empty() {
            let bytes = payload.encode_binary();
            prop_assert_eq!(Payload::decode(EioVersion::V3, &bytes), Ok(payload));
        }
    }

    /// Splitting a packet list anywhere and encoding the halves gives payloads
    /// whose concatenation (v3) or `\x1e`-join (v4) decodes to the whole list.
    #[test]
    fn payloads_split_anywhere_decode_as_whole(
        (version, packets, cut) in eio_version()
            .prop_flat_map(|v| (Just(v), prop::collection::vec(eio_packet(v), 2..8)))
            .prop_flat_map(|(v, p)| { let n = p.len(); (Just(v), Just(p), 1..n) })
    ) {
        let (a, b) = packets.split_at(cut);
        let (a, b) = (Payload::new(a.to_vec()), Payload::new(b.to_vec()));
        let joined = match version {
            EioVersion::V3 => format!("{}{}", a.encode(version), b.encode(version)),
            EioVersion::V4 => format!("{}\x1e{}", a.encode(version), b.encode(version)),
        };
        prop_assert_eq!(Payload::decode(version, joined.as_bytes()), Ok(Payload::new(packets.clone())));
        if version == EioVersion::V3 {
            let mut bytes = a.encode_binary();
            bytes.extend(b.encode_binary());
            prop_assert_eq!(Payload::decode(version, &bytes), Ok(Payload::new(packets)));
        }
    }

    #[test]
    fn socket_io_payloads_round_trip(
        (version, packets) in sio_version().prop_flat_map(|v| (Just(v), prop::collection::vec(sio_packet(v), 1..5)))
    ) {
        let eio = version.engine();
        let payload = Payload::new(packets.iter().map(|p| EioPacket::message(p.encode())).collect());
        let kind = match eio { EioVersion::V3 => "eio3-payload", EioVersion::V4 => "eio4-payload" };
        let decoded = Transport::decode(Some(kind), payload.encode(eio).as_bytes());
        let Ok(Message::Payload { contents, payload: got, .. }) = decoded else {
            return Err(TestCaseError::fail(format!("{decoded:?}")));
        };
        prop_assert_eq!(got, payload);
        let sockets: Vec<Packet> = contents.into_iter().filter_map(|c| match c { Content::Socket(p) => Some(p), _ => None }).collect();
        prop_assert_eq!(sockets, packets);
    }

    #[test]
    fn binary_packets_deconstruct_and_reconstruct(
        version in sio_version(),
        ns in namespace(),
        is_ack in any::<bool>(),
        name in event_name(),
        args in prop::collection::vec(binary_data(), 0..4),
        id in ack_id(),
    ) {
        let binaries: usize = args.iter().map(count_binary).sum();
        prop_assume!(binaries <= 10);
        let mut data = Vec::new();
        if !is_ack { data.push(Data::String(name)); }
        data.extend(args);
        let full = FullPacket {
            packet_type: if is_ack { PacketType::Ack } else { PacketType::Event },
            namespace: ns,
            id: if is_ack { Some(id) } else { None },
            data: Some(Data::Array(data)),
        };
        let (packet, attachments) = full.deconstruct();
        prop_assert_eq!(attachments.len(), binaries);
        prop_assert_eq!(packet.packet_type.is_binary(), binaries > 0);
        let text = packet.encode();
        prop_assert_eq!(FullPacket::decode(version, &text, &attachments), Ok(full.clone()));
        let mut r = Reassembler::new(version, Config::default());
        let mut out = r.push_text(&text).unwrap();
        for a in &attachments {
            prop_assert!(out.is_none());
            out = r.push_binary(a).unwrap();
        }
        prop_assert_eq!(out, Some(full));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_no_panic(&bytes);
    }

    #[test]
    fn protocol_like_text_never_panics(text in "[0-6b:/,\\-\\[\\]{}\"_a-z0-9\u{1e}\u{0}\u{1}\u{ff}€😀]{0,48}") {
        check_no_panic(text.as_bytes());
    }
}

const KINDS: [&str; 14] = [
    "eio4",
    "eio3",
    "eio4-binary",
    "eio3-binary",
    "eio4-raw",
    "eio3-raw",
    "eio4-payload",
    "eio3-payload",
    "eio4-raw-payload",
    "eio3-raw-payload",
    "eio4-handshake",
    "eio3-handshake",
    "sio5",
    "sio4",
];

/// Every decoder runs on the input without panicking, and the dialect's
/// decode refuses exactly what its validate reports.
fn check_no_panic(bytes: &[u8]) {
    for kind in KINDS.iter().copied().map(Some).chain([None]) {
        let decoded = Transport::decode(kind, bytes);
        let violations = Transport::validate(kind, bytes);
        assert_eq!(
            decoded.is_err(),
            !violations.is_empty(),
            "{kind:?} {bytes:?}: {decoded:?} vs {violations:?}"
        );
        if let Ok(m) = decoded {
            assert_eq!(
                Transport::decode(kind, &Transport::encode(&m).unwrap()),
                Ok(m)
            );
        }
    }
    let _ = Transport::frames(bytes);
    for v in [EioVersion::V3, EioVersion::V4] {
        let _ = Payload::decode(v, bytes);
        let _ = EioPacket::decode_binary(v, bytes);
        if let Ok(s) = std::str::from_utf8(bytes) {
            let _ = EioPacket::decode(v, s);
            let _ = Handshake::decode(v, s);
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        for v in [SioVersion::V4, SioVersion::V5] {
            if let Ok(p) = Packet::decode(v, s) {
                let _ = p.reconstruct(&vec![vec![0u8]; p.attachments]);
            }
        }
    }
}
