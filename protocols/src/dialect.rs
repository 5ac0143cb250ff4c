//! The contract every protocol module fulfils, and the protocol registry.

use std::fmt;
use std::str::FromStr;

/// One broken rule: which field, which rule, which section of which document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where in the message: a dotted path such as `data.room_id`, or `""` for the whole message.
    pub field: String,
    /// The rule's id, kebab-case, named after what was broken (e.g. `missing-field`).
    pub rule: &'static str,
    /// The document and section the rule comes from (e.g. `004_636ae579ed5d2364.txt §2.2`).
    pub spec: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl Violation {
    /// A violation carrying a codec error's rule, spec and message.
    pub fn from_error<E: Rule + fmt::Display>(field: impl Into<String>, error: &E) -> Self {
        Violation {
            field: field.into(),
            rule: error.rule(),
            spec: error.spec(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            "(message)"
        } else {
            &self.field
        };
        write!(
            f,
            "{field}: {} [{}] ({})",
            self.message, self.rule, self.spec
        )
    }
}

/// What every codec error can say about itself.
pub trait Rule {
    /// The kebab-case id of the broken rule.
    fn rule(&self) -> &'static str;
    /// The document and section the rule comes from.
    fn spec(&self) -> &'static str;
}

/// One protocol's codec: decode, encode, validate.
pub trait Dialect {
    /// Which protocol this is.
    const PROTOCOL: Protocol;
    /// A decoded message.
    type Message: fmt::Debug + PartialEq;
    /// The codec's error: the first reason a message is refused.
    type Error: std::error::Error + PartialEq + Rule;

    /// Decodes one message. `kind` names the message when its bytes alone do
    /// not (a Socket.IO event payload shown without its event name, the
    /// Engine.IO version of a packet); `None` infers it from the content.
    fn decode(kind: Option<&str>, input: &[u8]) -> Result<Self::Message, Self::Error>;

    /// Encodes a message to the bytes the wire carries.
    fn encode(message: &Self::Message) -> Vec<u8>;

    /// Every rule the message breaks; empty when it is valid.
    fn validate(kind: Option<&str>, input: &[u8]) -> Vec<Violation>;

    /// Splits a captured stream into messages. The default reads a stream of
    /// JSON values (newline-delimited or concatenated); what cannot be read
    /// as JSON is returned as one last frame so that `decode` reports it.
    fn frames(input: &[u8]) -> Vec<Frame<'_>> {
        json_frames(input)
    }
}

/// One message cut out of a captured stream, with its byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Byte offset of the message in the stream.
    pub offset: usize,
    /// The message's bytes.
    pub bytes: &'a [u8],
}

/// Splits a stream of JSON values; an unreadable tail becomes one last frame.
pub fn json_frames(input: &[u8]) -> Vec<Frame<'_>> {
    let mut frames = Vec::new();
    let mut stream =
        serde_json::Deserializer::from_slice(input).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    loop {
        match stream.next() {
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                let offset = start + leading_ws(&input[start..end]);
                frames.push(Frame {
                    offset,
                    bytes: &input[offset..end],
                });
                start = end;
            }
            Some(Err(_)) => {
                let offset = start + leading_ws(&input[start..]);
                let tail = trim_end_ws(&input[offset..]);
                if !tail.is_empty() {
                    frames.push(Frame {
                        offset,
                        bytes: tail,
                    });
                }
                break;
            }
            None => break,
        }
    }
    frames
}

/// Splits a stream into non-empty lines (`\n` or `\r\n`).
pub fn line_frames(input: &[u8]) -> Vec<Frame<'_>> {
    let mut frames = Vec::new();
    let mut offset = 0;
    for line in input.split(|b| *b == b'\n') {
        let bytes = line.strip_suffix(b"\r").unwrap_or(line);
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            frames.push(Frame { offset, bytes });
        }
        offset += line.len() + 1;
    }
    frames
}

fn leading_ws(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

fn trim_end_ws(bytes: &[u8]) -> &[u8] {
    let end = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    &bytes[..end]
}

/// The protocols chatspec knows, by their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// Engine.IO v3/v4 and Socket.IO v4/v5: the transport three protocols share.
    Socketio,
    /// `000_407d4ff0bcbdf81c.txt`, Chatpot over Socket.IO.
    Chatpot,
    /// `001_13ce220237596520.txt`, the "Sockets" memo over Socket.IO.
    Sockets,
    /// `002_57bad640c3a657d6.txt`, SocketCluster protocol V1 over WebSocket.
    Socketcluster,
    /// `003_415bfb4e4fd8fc5e.txt`, Circles (Flask-SocketIO).
    Circles,
    /// `004_636ae579ed5d2364.txt`, ASSA over TCP.
    Assa,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 6] = [
        Protocol::Socketio,
        Protocol::Chatpot,
        Protocol::Sockets,
        Protocol::Socketcluster,
        Protocol::Circles,
        Protocol::Assa,
    ];

    /// The id used in case ids, ports and folders.
    pub fn id(self) -> &'static str {
        match self {
            Protocol::Socketio => "socketio",
            Protocol::Chatpot => "chatpot",
            Protocol::Sockets => "sockets",
            Protocol::Socketcluster => "socketcluster",
            Protocol::Circles => "circles",
            Protocol::Assa => "assa",
        }
    }

    /// The document that specifies it.
    pub fn document(self) -> &'static str {
        match self {
            Protocol::Socketio => "Engine.IO / Socket.IO protocol specifications",
            Protocol::Chatpot => "000_407d4ff0bcbdf81c.txt",
            Protocol::Sockets => "001_13ce220237596520.txt",
            Protocol::Socketcluster => "002_57bad640c3a657d6.txt",
            Protocol::Circles => "003_415bfb4e4fd8fc5e.txt",
            Protocol::Assa => "004_636ae579ed5d2364.txt",
        }
    }

    /// Validates a captured stream with this protocol's dialect.
    pub fn validate_stream<'a>(
        self,
        kind: Option<&str>,
        input: &'a [u8],
    ) -> Vec<(Frame<'a>, Vec<Violation>)> {
        match self {
            Protocol::Socketio => validate_stream::<crate::socketio::Transport>(kind, input),
            Protocol::Chatpot => validate_stream::<crate::chatpot::Chatpot>(kind, input),
            Protocol::Sockets => validate_stream::<crate::sockets::Sockets>(kind, input),
            Protocol::Socketcluster => {
                validate_stream::<crate::socketcluster::SocketCluster>(kind, input)
            }
            Protocol::Circles => validate_stream::<crate::circles::Circles>(kind, input),
            Protocol::Assa => validate_stream::<crate::assa::Assa>(kind, input),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The protocol id was not one chatspec knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol `{0}`; expected one of socketio, chatpot, sockets, socketcluster, circles, assa")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.id() == s)
            .ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

/// Splits `input` with `D::frames` and validates every frame.
pub fn validate_stream<'a, D: Dialect>(
    kind: Option<&str>,
    input: &'a [u8],
) -> Vec<(Frame<'a>, Vec<Violation>)> {
    D::frames(input)
        .into_iter()
        .map(|frame| (frame, D::validate(kind, frame.bytes)))
        .collect()
}
