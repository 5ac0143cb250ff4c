//! The contract every protocol module fulfils, and the protocol registry.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use crate::rules::{EncodeError, RuleInfo};

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

/// The kind handed to a codec is none it knows: the caller's mistake, not the message's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{kind}`")]
pub struct UnknownKind {
    /// The kind given.
    pub kind: String,
}

impl UnknownKind {
    /// The error for `kind`.
    pub fn new(kind: &str) -> Self {
        UnknownKind {
            kind: kind.to_owned(),
        }
    }
}

/// A dialect's message kinds: listed once ([`Dialect::KINDS`]), parsed once (`FromStr`),
/// written back with `Display` (`kind.to_string().parse() == Ok(kind)`).
pub trait Kind:
    Copy + fmt::Debug + fmt::Display + PartialEq + FromStr<Err = UnknownKind> + 'static
{
}

impl<T> Kind for T where
    T: Copy + fmt::Debug + fmt::Display + PartialEq + FromStr<Err = UnknownKind> + 'static
{
}

/// One protocol's codec: decode, encode, validate, and what it knows about itself
/// (its document, kinds, rules and id fields).
pub trait Dialect {
    /// Which protocol this is.
    const PROTOCOL: Protocol;
    /// The document that specifies it.
    const DOCUMENT: &'static str;
    /// The names of the fields that carry ids (call ids, session ids, room ids...),
    /// wherever they sit in a message: what a mutation layer changes to test that a
    /// peer checks them.
    const ID_FIELDS: &'static [&'static str];
    /// What `kind` may say; absent means "infer it from the content".
    type Kind: Kind;
    /// A decoded message.
    type Message: fmt::Debug + PartialEq;
    /// The codec's error: the first reason a message is refused.
    type Error: std::error::Error + PartialEq + Rule;

    /// Every kind, in a stable order.
    fn kinds() -> &'static [Self::Kind];

    /// Every rule the codec's errors can name, each id once.
    fn rules() -> &'static [RuleInfo];

    /// Decodes one message. `kind` names the message when its bytes alone do
    /// not (a Socket.IO event payload shown without its event name, the
    /// Engine.IO version of a packet); `None` infers it from the content. A
    /// kind that does not parse as [`Dialect::Kind`] is refused as `unknown-kind`.
    fn decode(kind: Option<&str>, input: &[u8]) -> Result<Self::Message, Self::Error>;

    /// Encodes a message to the bytes the wire carries.
    fn encode(message: &Self::Message) -> Result<Vec<u8>, EncodeError>;

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

/// What the registry reaches in every dialect, without naming its types.
trait Codec: Sync {
    fn document(&self) -> &'static str;
    fn kinds(&self) -> Vec<String>;
    fn check_kind(&self, kind: &str) -> Result<(), UnknownKind>;
    fn rules(&self) -> &'static [RuleInfo];
    fn id_fields(&self) -> &'static [&'static str];
    fn validate_stream<'a>(
        &self,
        kind: Option<&str>,
        input: &'a [u8],
    ) -> Vec<(Frame<'a>, Vec<Violation>)>;
}

struct Erased<D>(PhantomData<fn() -> D>);

impl<D> Erased<D> {
    const CODEC: Self = Erased(PhantomData);
}

impl<D: Dialect> Codec for Erased<D> {
    fn document(&self) -> &'static str {
        D::DOCUMENT
    }
    fn kinds(&self) -> Vec<String> {
        D::kinds().iter().map(ToString::to_string).collect()
    }
    fn check_kind(&self, kind: &str) -> Result<(), UnknownKind> {
        kind.parse::<D::Kind>().map(|_| ())
    }
    fn rules(&self) -> &'static [RuleInfo] {
        D::rules()
    }
    fn id_fields(&self) -> &'static [&'static str] {
        D::ID_FIELDS
    }
    fn validate_stream<'a>(
        &self,
        kind: Option<&str>,
        input: &'a [u8],
    ) -> Vec<(Frame<'a>, Vec<Violation>)> {
        validate_stream::<D>(kind, input)
    }
}

/// The protocol registry: one line per protocol (its variant, its id, its dialect).
/// Everything the CLI and the suites ask of a protocol goes through the table it builds.
macro_rules! registry {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, $dialect:ty; )*) => {
        /// The protocols chatspec knows, by their ids.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Protocol {
            $( $(#[$doc])* $variant, )*
        }

        impl Protocol {
            /// Every protocol, in a stable order.
            pub const ALL: [Protocol; [$(Protocol::$variant),*].len()] = [$(Protocol::$variant),*];

            /// The id used in case ids, ports and folders.
            pub fn id(self) -> &'static str {
                match self {
                    $( Protocol::$variant => $id, )*
                }
            }

            fn codec(self) -> &'static dyn Codec {
                match self {
                    $( Protocol::$variant => &Erased::<$dialect>::CODEC, )*
                }
            }
        }
    };
}

registry! {
    /// Engine.IO v3/v4 and Socket.IO v4/v5: the transport three protocols share.
    Socketio => "socketio", crate::socketio::Transport;
    /// `000_407d4ff0bcbdf81c.txt`, Chatpot over Socket.IO.
    Chatpot => "chatpot", crate::chatpot::Chatpot;
    /// `001_13ce220237596520.txt`, the "Sockets" memo over Socket.IO.
    Sockets => "sockets", crate::sockets::Sockets;
    /// `002_57bad640c3a657d6.txt`, SocketCluster protocol V1 over WebSocket.
    Socketcluster => "socketcluster", crate::socketcluster::SocketCluster;
    /// `003_415bfb4e4fd8fc5e.txt`, Circles (Flask-SocketIO).
    Circles => "circles", crate::circles::Circles;
    /// `004_636ae579ed5d2364.txt`, ASSA over TCP.
    Assa => "assa", crate::assa::Assa;
}

impl Protocol {
    /// The document that specifies it.
    pub fn document(self) -> &'static str {
        self.codec().document()
    }

    /// Every kind its dialect takes, as `--kind` spells them.
    pub fn kinds(self) -> Vec<String> {
        self.codec().kinds()
    }

    /// Checks that `kind` is one of [`Protocol::kinds`].
    pub fn check_kind(self, kind: &str) -> Result<(), UnknownKind> {
        self.codec().check_kind(kind)
    }

    /// Every rule its dialect can report, each id once.
    pub fn rules(self) -> &'static [RuleInfo] {
        self.codec().rules()
    }

    /// The fields that carry ids in its messages (see [`Dialect::ID_FIELDS`]).
    pub fn id_fields(self) -> &'static [&'static str] {
        self.codec().id_fields()
    }

    /// Validates a captured stream with this protocol's dialect.
    pub fn validate_stream<'a>(
        self,
        kind: Option<&str>,
        input: &'a [u8],
    ) -> Vec<(Frame<'a>, Vec<Violation>)> {
        self.codec().validate_stream(kind, input)
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
