//! Tests of the `circles` codec: unit cases and proptest round trips.

use proptest::prelude::*;
use protocols::circles::{
    Authenticate, CircleEvent, CircleInvite, CircleNotice, CircleRef, Circles,
    ConversationDeviceEvent, ConversationEvent, ConversationNotice, ConversationRef, Credentials,
    DeviceEvent, Direction, Error, Event, Form, Forwarded, IceServer, InviteEvent, Media, Message,
    MessageEvent, MessageNotice, MessageStatus, SendMessage, Success, WebrtcConfig, WebrtcForward,
    Writing, WritingNotice,
};
use protocols::{CommonError, Dialect, Rule};
use serde_json::{json, Map, Value};

const LISTENED: &str = "003_415bfb4e4fd8fc5e.txt §Listened Channels";
const CIRCLE: &str = "003_415bfb4e4fd8fc5e.txt §Circle Events";
const MESSAGES: &str = "003_415bfb4e4fd8fc5e.txt §Messages Events";
const WEBRTC: &str = "003_415bfb4e4fd8fc5e.txt §Events Webrtc";

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[test]
fn message_channel_is_read_by_direction() {
    let client =
        json!(["message", {"conversation_id": 4, "text_message": "hi", "files": ["a.txt"]}]);
    // Without a kind, `message` is the server's notice, which this is not.
    assert_eq!(
        Circles::decode(None, &bytes(&client)).unwrap_err(),
        Error::Common(CommonError::MissingField {
            field: "status".into(),
            spec: MESSAGES
        })
    );
    let decoded = Circles::decode(Some("client"), &bytes(&client)).unwrap();
    assert_eq!(
        decoded.event,
        Event::SendMessage(SendMessage {
            conversation_id: 4,
            text_message: Some("hi".into()),
            files: Some(vec!["a.txt".into()]),
            extra: Map::new(),
        })
    );
    assert_eq!(decoded.event.direction(), Direction::Client);
    assert_eq!(decoded.event.kind(), "client:message");
    // both spellings of the bare client kind
    let bare = bytes(&json!({"conversation_id": 4}));
    assert_eq!(
        Circles::decode(Some("client:message"), &bare).unwrap(),
        Circles::decode(Some("client.message"), &bare).unwrap()
    );
}

#[test]
fn webrtc_forward_is_the_client_request_unless_the_server_is_named() {
    let request = json!({"user_id": 2, "type": "offer"});
    let decoded = Circles::decode(Some("webrtc_forward"), &bytes(&request)).unwrap();
    assert!(matches!(decoded.event, Event::WebrtcForward(_)));
    let delivered = json!({"sender_id": 1, "is_device": true, "content": request});
    let decoded = Circles::decode(Some("server:webrtc_forward"), &bytes(&delivered)).unwrap();
    assert!(matches!(decoded.event, Event::WebrtcForwarded(_)));
    assert_eq!(
        Circles::decode(Some("webrtc_forward"), &bytes(&json!({"type": "offer"}))).unwrap_err(),
        Error::MissingRecipient
    );
    assert_eq!(Error::MissingRecipient.spec(), LISTENED);
}

#[test]
fn connect_and_disconnect_are_not_events() {
    assert_eq!(
        Circles::decode(Some("connect"), b"").unwrap().event,
        Event::Connect
    );
    assert_eq!(
        Circles::decode(Some("client:disconnect"), b"\n")
            .unwrap()
            .event,
        Event::Disconnect
    );
    let error = Circles::decode(None, br#"["connect"]"#).unwrap_err();
    assert_eq!(error, Error::ReservedEvent("connect".into()));
    assert_eq!(error.rule(), "reserved-event");
    // built with `args`, a connect still encodes as nothing
    let message = Message::args(Event::Connect);
    assert_eq!(message.form, Form::Bare);
    assert_eq!(Circles::encode(&message).unwrap(), b"");
}

#[test]
fn events_without_arguments_refuse_one() {
    assert_eq!(
        Circles::decode(None, br#"["webrtc_stun_info"]"#)
            .unwrap()
            .event,
        Event::WebrtcStunInfo
    );
    assert_eq!(
        Circles::decode(None, br#"["webrtc_stun_info",{}]"#).unwrap_err(),
        Error::WrongArgumentCount {
            event: "webrtc_stun_info",
            expected: 0,
            found: 1,
            spec: LISTENED
        }
    );
    assert_eq!(
        Circles::decode(Some("webrtc_turn_info"), b"{}").unwrap_err(),
        Error::WrongArgumentCount {
            event: "webrtc_turn_info",
            expected: 0,
            found: 1,
            spec: LISTENED
        }
    );
    assert_eq!(
        Circles::encode(&Message::args(Event::WebrtcCredentials)).unwrap(),
        br#"["webrtc_credentials"]"#
    );
}

#[test]
fn ids_are_non_negative_integers() {
    for (value, error) in [
        (
            json!({"circle_id": -1}),
            Error::Common(CommonError::BadId {
                field: "circle_id".into(),
                found: "-1".into(),
                spec: LISTENED,
            }),
        ),
        (
            json!({"circle_id": 2.5}),
            Error::Common(CommonError::BadId {
                field: "circle_id".into(),
                found: "2.5".into(),
                spec: LISTENED,
            }),
        ),
        (
            json!({"circle_id": "2"}),
            Error::Common(CommonError::WrongType {
                field: "circle_id".into(),
                expected: "an integer id",
                spec: LISTENED,
            }),
        ),
    ] {
        assert_eq!(
            Circles::decode(Some("join_circle"), &bytes(&value)).unwrap_err(),
            error
        );
    }
    assert!(Circles::decode(Some("join_circle"), br#"{"circle_id":0}"#).is_ok());
}

#[test]
fn circle_events_need_their_fields_and_every_violation_is_reported() {
    let violations = Circles::validate(Some("circle"), br#"{"event":"kick"}"#);
    let found: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.field.as_str(), v.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            ("circle_id", "missing-field"),
            ("user", "missing-field"),
            ("from", "missing-field"),
        ]
    );
    assert!(violations.iter().all(|v| v.spec == CIRCLE));
    let device = Circles::validate(Some("circle"), br#"{"event":"device","circle_id":1}"#);
    let fields: Vec<&str> = device.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, vec!["type", "device_id"]);
}

#[test]
fn message_notice_has_status_or_event() {
    assert_eq!(
        Circles::decode(
            Some("message"),
            br#"{"conversation_id":1,"message_id":2,"event":"delete","status":"done"}"#
        )
        .unwrap_err(),
        Error::ConflictingFields {
            first: "event",
            second: "status",
            spec: MESSAGES
        }
    );
    let pending = Circles::decode(
        Some("message"),
        br#"{"conversation_id":1,"message":{"id":2},"status":"pending"}"#,
    )
    .unwrap();
    let Event::MessageNotice(notice) = pending.event else {
        panic!("not a notice")
    };
    assert_eq!(notice.status, Some(MessageStatus::Pending));
    assert_eq!(notice.time, None);
}

#[test]
fn server_writing_refuses_the_string_booleans_of_the_public_server() {
    assert_eq!(
        Circles::decode(
            Some("writing"),
            br#"{"conversation_id":1,"device":true,"is_writing":"True"}"#
        )
        .unwrap_err(),
        Error::Common(CommonError::WrongType {
            field: "is_writing".into(),
            expected: "a boolean",
            spec: MESSAGES
        })
    );
}

#[test]
fn webrtc_config_shapes() {
    let servers = json!([{"domain": "webrtc.neo.ovh", "ip": "", "port": 3478}]);
    let Event::WebrtcConfig(WebrtcConfig::Servers(list)) =
        Circles::decode(Some("webrtc_config"), &bytes(&servers))
            .unwrap()
            .event
    else {
        panic!("not a server list")
    };
    assert_eq!(list[0].port, 3478);
    let creds = json!({"username": "u", "password": "p"});
    assert!(matches!(
        Circles::decode(Some("webrtc_config"), &bytes(&creds))
            .unwrap()
            .event,
        Event::WebrtcConfig(WebrtcConfig::Credentials(_))
    ));
    let bad = json!([{"domain": "d", "ip": "", "port": 65536}, {"domain": "d"}]);
    let found: Vec<(String, &str)> = Circles::validate(Some("webrtc_config"), &bytes(&bad))
        .into_iter()
        .map(|v| (v.field, v.rule))
        .collect();
    assert_eq!(
        found,
        vec![
            ("[0].port".to_owned(), "out-of-range"),
            ("[1].ip".to_owned(), "missing-field"),
            ("[1].port".to_owned(), "missing-field"),
        ]
    );
    assert_eq!(
        Circles::decode(Some("webrtc_config"), b"3").unwrap_err(),
        Error::Common(CommonError::WrongType {
            field: String::new(),
            expected: "a server list or an object",
            spec: WEBRTC
        })
    );
}

#[test]
fn error_is_a_string_and_success_a_string_or_object() {
    assert_eq!(
        Circles::decode(Some("error"), br#""Socket user introuvable""#)
            .unwrap()
            .event,
        Event::Error("Socket user introuvable".into())
    );
    assert!(Circles::decode(Some("success"), br#"{"received":true,"message_id":3}"#).is_ok());
    assert_eq!(
        Circles::decode(Some("success"), b"true")
            .unwrap_err()
            .rule(),
        "wrong-type"
    );
}

#[test]
fn unknown_kinds_and_channels() {
    assert_eq!(
        Circles::decode(Some("server:authenticate"), b"{}").unwrap_err(),
        Error::UnknownKind("server:authenticate".into())
    );
    assert_eq!(
        Circles::decode(Some("client"), br#"["circle",{}]"#).unwrap_err(),
        Error::UnknownEvent("circle".into())
    );
    assert_eq!(
        Circles::decode(None, br#"{"circle_id":1}"#).unwrap_err(),
        Error::NotAnEventArray
    );
    assert_eq!(
        Circles::decode(None, b"\xc3\x28").unwrap_err(),
        Error::Common(CommonError::InvalidUtf8 {
            spec: "socket.io-protocol v5 §Packet encoding"
        })
    );
}

#[test]
fn unknown_fields_are_kept() {
    let invite = json!({"event": "invite", "circle_id": 1, "circle_invite_id": 9});
    let message = Circles::decode(Some("circle_invite"), &bytes(&invite)).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&Circles::encode(&message).unwrap()).unwrap(),
        invite
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

fn email() -> impl Strategy<Value = String> {
    "[a-z]{1,8}@[a-z]{1,8}\\.com"
}

fn forwarded() -> impl Strategy<Value = Forwarded> {
    (any::<u64>(), any::<bool>(), extra(), extra()).prop_map(
        |(sender_id, is_device, content, extra)| Forwarded {
            sender_id,
            is_device,
            content,
            extra,
        },
    )
}

fn client_event() -> impl Strategy<Value = Event> {
    let conv = || {
        (any::<u64>(), extra()).prop_map(|(conversation_id, extra)| ConversationRef {
            conversation_id,
            extra,
        })
    };
    let circle =
        || (any::<u64>(), extra()).prop_map(|(circle_id, extra)| CircleRef { circle_id, extra });
    prop_oneof![
        Just(Event::Connect),
        Just(Event::Disconnect),
        ("[A-Za-z0-9._-]{1,64}", extra())
            .prop_map(|(token, extra)| Event::Authenticate(Authenticate { token, extra })),
        conv().prop_map(Event::JoinConversation),
        conv().prop_map(Event::LeaveConversation),
        circle().prop_map(Event::JoinCircle),
        circle().prop_map(Event::LeaveCircle),
        (
            any::<u64>(),
            prop::option::of(text()),
            prop::option::of(prop::collection::vec("[a-z]{1,8}\\.txt", 0..3)),
            extra()
        )
            .prop_map(|(conversation_id, text_message, files, extra)| {
                Event::SendMessage(SendMessage {
                    conversation_id,
                    text_message,
                    files,
                    extra,
                })
            }),
        (any::<u64>(), any::<bool>(), extra()).prop_map(|(conversation_id, is_writing, extra)| {
            Event::Writing(Writing {
                conversation_id,
                is_writing,
                extra,
            })
        }),
        Just(Event::WebrtcCredentials),
        Just(Event::WebrtcStunInfo),
        Just(Event::WebrtcTurnInfo),
        (
            prop::option::of(email()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            any::<u64>(),
            extra()
        )
            .prop_map(|(email, user_id, device_id, fallback, extra)| {
                let none = email.is_none() && user_id.is_none() && device_id.is_none();
                Event::WebrtcForward(WebrtcForward {
                    email,
                    user_id,
                    device_id: if none { Some(fallback) } else { device_id },
                    extra,
                })
            }),
    ]
}

fn circle_notice() -> impl Strategy<Value = CircleNotice> {
    (
        prop::sample::select(CircleEvent::ALL.to_vec()),
        any::<u64>(),
        email(),
        email(),
        prop::sample::select(DeviceEvent::ALL.to_vec()),
        any::<u64>(),
        extra(),
    )
        .prop_map(
            |(event, circle_id, user, from, device_event, device_id, extra)| {
                let with_user = matches!(
                    event,
                    CircleEvent::Join
                        | CircleEvent::Quit
                        | CircleEvent::Kick
                        | CircleEvent::Connect
                        | CircleEvent::Disconnect
                );
                let device = event == CircleEvent::Device;
                CircleNotice {
                    event,
                    circle_id,
                    user: with_user.then_some(user),
                    from: (event == CircleEvent::Kick).then_some(from),
                    device_event: device.then_some(device_event),
                    device_id: device.then_some(device_id),
                    extra,
                }
            },
        )
}

fn message_notice() -> impl Strategy<Value = MessageNotice> {
    (
        0..3u8,
        any::<u64>(),
        extra(),
        text(),
        extra(),
        prop::collection::vec(extra(), 0..3),
        any::<u64>(),
        any::<bool>(),
        extra(),
    )
        .prop_map(
            |(
                shape,
                conversation_id,
                message,
                time,
                sender,
                media_list,
                message_id,
                delete,
                extra,
            )| {
                let mut notice = MessageNotice {
                    conversation_id,
                    status: None,
                    event: None,
                    message: None,
                    time: None,
                    sender: None,
                    media_list: None,
                    message_id: None,
                    extra,
                };
                match shape {
                    0 => {
                        notice.status = Some(MessageStatus::Done);
                        notice.message = Some(message);
                        notice.time = Some(time);
                        notice.sender = Some(sender);
                        notice.media_list = Some(media_list);
                    }
                    1 => {
                        notice.status = Some(MessageStatus::Pending);
                        notice.message = Some(message);
                    }
                    _ => {
                        notice.event = Some(if delete {
                            MessageEvent::Delete
                        } else {
                            MessageEvent::Update
                        });
                        notice.message_id = Some(message_id);
                    }
                }
                notice
            },
        )
}

fn server_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        text().prop_map(Event::Error),
        prop_oneof![
            text().prop_map(Success::Text),
            extra().prop_map(Success::Object)
        ]
        .prop_map(Event::Success),
        (any::<u64>(), extra()).prop_map(|(circle_id, extra)| {
            Event::CircleInvite(CircleInvite {
                event: InviteEvent::Invite,
                circle_id,
                extra,
            })
        }),
        circle_notice().prop_map(Event::Circle),
        (
            any::<u64>(),
            prop::option::of(prop::sample::select(ConversationEvent::ALL.to_vec())),
            prop::option::of(email()),
            prop::option::of(email()),
            prop::option::of(prop::sample::select(vec![
                ConversationDeviceEvent::Add,
                ConversationDeviceEvent::Remove
            ])),
            extra()
        )
            .prop_map(
                |(conversation_id, event, user, from, device_event, extra)| {
                    Event::Conversation(ConversationNotice {
                        conversation_id,
                        event,
                        user,
                        from,
                        device_event,
                        extra,
                    })
                }
            ),
        message_notice().prop_map(Event::MessageNotice),
        (any::<u64>(), any::<bool>(), email(), any::<bool>(), extra()).prop_map(
            |(conversation_id, device, user, is_writing, extra)| {
                Event::WritingNotice(WritingNotice {
                    conversation_id,
                    device,
                    user: (!device).then_some(user),
                    is_writing,
                    extra,
                })
            }
        ),
        (prop::collection::vec(extra(), 0..3), any::<u64>(), extra()).prop_map(
            |(media_list, message_id, extra)| Event::Media(Media {
                media_list,
                message_id,
                extra
            })
        ),
        prop_oneof![
            prop::collection::vec(
                (text(), text(), any::<u16>(), extra()).prop_map(|(domain, ip, port, extra)| {
                    IceServer {
                        domain,
                        ip,
                        port,
                        extra,
                    }
                }),
                0..3
            )
            .prop_map(WebrtcConfig::Servers),
            forwarded().prop_map(WebrtcConfig::Forwarded),
            (text(), text(), extra()).prop_map(|(username, password, extra)| {
                WebrtcConfig::Credentials(Credentials {
                    username,
                    password,
                    extra,
                })
            }),
        ]
        .prop_map(Event::WebrtcConfig),
        forwarded().prop_map(Event::WebrtcForwarded),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (prop_oneof![client_event(), server_event()], any::<bool>()).prop_map(|(event, args)| {
        if args {
            Message::args(event)
        } else {
            Message::bare(event)
        }
    })
}

const KINDS: [&str; 30] = [
    "connect",
    "disconnect",
    "authenticate",
    "join_conversation",
    "leave_conversation",
    "join_circle",
    "leave_circle",
    "client:message",
    "client:writing",
    "webrtc_credentials",
    "webrtc_stun_info",
    "webrtc_turn_info",
    "webrtc_forward",
    "error",
    "success",
    "circle_invite",
    "circle",
    "conversation",
    "message",
    "writing",
    "media",
    "webrtc_config",
    "server:webrtc_forward",
    "client",
    "server",
    "client.message",
    "server.writing",
    "nope",
    "client:nope",
    "x:circle",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_round_trips(message in message()) {
        let kind = message.kind();
        let encoded = Circles::encode(&message).unwrap();
        prop_assert_eq!(Circles::validate(Some(kind), &encoded), vec![]);
        prop_assert_eq!(Circles::decode(Some(kind), &encoded), Ok(message.clone()));
        // the argument array of an event whose name is not shared also reads without a kind
        let shared = matches!(
            message.event.name(),
            "message" | "writing" | "webrtc_forward"
        );
        if message.form == Form::Args && !shared {
            prop_assert_eq!(Circles::decode(None, &encoded), Ok(message));
        }
    }

    #[test]
    fn a_stream_of_argument_arrays_splits_back_into_messages(
        events in prop::collection::vec(server_event(), 0..5)
    ) {
        let messages: Vec<Message> = events.into_iter().map(Message::args).collect();
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend(Circles::encode(m).unwrap());
        }
        let frames = Circles::frames(&stream);
        prop_assert_eq!(frames.len(), messages.len());
        for (frame, m) in frames.iter().zip(&messages) {
            prop_assert_eq!(&Circles::decode(Some("server"), frame.bytes).unwrap(), m);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(any::<u8>(), 0..256),
        kind in prop::option::of(prop::sample::select(KINDS.to_vec())),
    ) {
        let decoded = Circles::decode(kind, &input);
        let violations = Circles::validate(kind, &input);
        prop_assert_eq!(decoded.is_ok(), violations.is_empty());
        if let Err(e) = decoded {
            prop_assert!(violations.iter().any(|v| v.rule == e.rule()));
        }
        let _ = Circles::frames(&input);
    }

    #[test]
    fn arbitrary_json_payloads_never_panic_and_agree(
        value in leaf().prop_recursive(4, 32, 6, |inner| prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "token", "conversation_id", "circle_id", "event", "user", "from", "type",
                    "device_id", "status", "message", "message_id", "time", "sender",
                    "media_list", "device", "is_writing", "sender_id", "is_device", "content",
                    "domain", "ip", "port", "username", "password", "email", "user_id",
                ]).prop_map(str::to_owned),
                inner,
                0..6,
            ).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]),
        kind in prop::sample::select(KINDS.to_vec()),
    ) {
        let input = bytes(&value);
        let decoded = Circles::decode(Some(kind), &input);
        let violations = Circles::validate(Some(kind), &input);
        prop_assert_eq!(decoded.is_ok(), violations.is_empty());
        if let Ok(message) = decoded {
            let again = serde_json::from_slice::<Value>(&Circles::encode(&message).unwrap()).unwrap();
            prop_assert_eq!(again, value);
        }
    }
}
