//! Entry points for the cargo-fuzz targets in `fuzz/` (each target is a
//! line calling one of these) and for the tests that replay the fixtures
//! through them. Each asserts what a fuzzer may break: no panic, `decode`
//! refuses exactly what `validate` reports, a decoded message re-encodes to
//! bytes that decode to the same message, and stream decoding does not
//! depend on how the bytes were cut.

pub mod sc_session;
pub mod session;
pub mod sio_client;

pub use sc_session::{socketcluster_client, socketcluster_server};
pub use session::{engineio_client, engineio_server, socketio_rooms};
pub use sio_client::socketio_client;

use crate::{assa, chatpot, circles, socketcluster, socketio, sockets, Dialect};

/// Every kind of a dialect as `decode` takes it, `None` (infer) first.
pub fn kinds<D: Dialect>() -> Vec<Option<String>> {
    std::iter::once(None)
        .chain(D::kinds().iter().map(|k| Some(k.to_string())))
        .collect()
}

/// The first byte of a fuzz input that selects `kind` (`0`: none, or a kind the
/// dialect does not know); what the seed corpora start with.
pub fn kind_byte<D: Dialect>(kind: Option<&str>) -> u8 {
    kind.and_then(|k| k.parse::<D::Kind>().ok())
        .and_then(|k| D::kinds().iter().position(|x| *x == k))
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// The first byte of a fuzz input picks one of the dialect's kinds (or none); the
/// rest is the message. Runs [`dialect`] on it.
fn pick_and_check<D: Dialect>(data: &[u8]) {
    match data.split_first() {
        Some((k, rest)) => {
            let kinds = D::kinds();
            let kind = match usize::from(*k) % (kinds.len() + 1) {
                0 => None,
                i => Some(kinds[i - 1].to_string()),
            };
            dialect::<D>(kind.as_deref(), rest);
        }
        None => dialect::<D>(None, data),
    }
}

/// The properties every dialect keeps on any input.
pub fn dialect<D: Dialect>(kind: Option<&str>, data: &[u8]) {
    let violations = D::validate(kind, data);
    match D::decode(kind, data) {
        Ok(message) => {
            assert!(
                violations.is_empty(),
                "decoded, yet validate reports {violations:?}"
            );
            let encoded = match D::encode(&message) {
                Ok(encoded) => encoded,
                Err(e) => panic!("a decoded message does not encode: {e}"),
            };
            match D::decode(kind, &encoded) {
                Ok(again) => assert_eq!(again, message, "decode(encode(x)) != x"),
                Err(e) => panic!("the re-encoded message is refused: {e}"),
            }
        }
        Err(e) => assert!(
            !violations.is_empty(),
            "refused ({e}), yet validate reports nothing"
        ),
    }
    for frame in D::frames(data) {
        assert!(
            frame.offset + frame.bytes.len() <= data.len(),
            "a frame outside the input"
        );
    }
}

/// Fuzz target `socketio`.
pub fn socketio(data: &[u8]) {
    pick_and_check::<socketio::Transport>(data);
}

/// Fuzz target `chatpot`.
pub fn chatpot(data: &[u8]) {
    pick_and_check::<chatpot::Chatpot>(data);
}

/// Fuzz target `sockets`.
pub fn sockets(data: &[u8]) {
    pick_and_check::<sockets::Sockets>(data);
}

/// Fuzz target `socketcluster`.
pub fn socketcluster(data: &[u8]) {
    pick_and_check::<socketcluster::SocketCluster>(data);
}

/// Fuzz target `circles`.
pub fn circles(data: &[u8]) {
    pick_and_check::<circles::Circles>(data);
}

/// Fuzz target `assa`.
pub fn assa(data: &[u8]) {
    pick_and_check::<assa::Assa>(data);
}

/// Fuzz target `assa_framing`: the stream decoder in both framings, fed
/// whole and fed in chunks whose sizes the input's first bytes choose,
/// gives the same frames, and never holds more than a frame's limit plus
/// one chunk.
pub fn assa_framing(data: &[u8]) {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 64) + 1;
    const LIMIT: usize = 4096;
    for framing in [
        assa::framing::Framing::JsonStream,
        assa::framing::Framing::LengthPrefixed,
    ] {
        let whole = drain(framing, LIMIT, &[stream]);
        let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
        let chunked = drain(framing, LIMIT, &pieces);
        assert_eq!(
            whole.0, chunked.0,
            "{framing:?}: frames depend on how the stream was cut"
        );
        assert!(
            chunked.1 <= LIMIT + chunk + 4,
            "{framing:?}: buffered {} bytes",
            chunked.1
        );
    }
}

/// Feeds pieces, taking frames after each; returns the frames (or the error)
/// and the most bytes the decoder held.
fn drain(
    framing: assa::framing::Framing,
    limit: usize,
    pieces: &[&[u8]],
) -> (Result<Vec<Vec<u8>>, assa::Error>, usize) {
    let mut decoder = assa::framing::Decoder::with_max_frame(framing, limit);
    let mut frames = Vec::new();
    let mut most = 0;
    for piece in pieces {
        decoder.feed(piece);
        most = most.max(decoder.buffered());
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (Err(e), most),
            }
        }
    }
    (Ok(frames), most)
}

/// Fuzz target `socketio_reassembler`: a connection's frames (text parts and
/// binary attachments, as the input's bytes lay them out) through the
/// Socket.IO reassembler; every packet it completes re-encodes to the same
/// text part and attachments.
pub fn socketio_reassembler(data: &[u8]) {
    let config = socketio::Config::default();
    for version in [socketio::SioVersion::V4, socketio::SioVersion::V5] {
        let mut reassembler = socketio::Reassembler::new(version, config);
        // Frames are separated by 0xff; a frame starting with 0x00 is binary.
        for frame in data.split(|b| *b == 0xff) {
            let done = match frame.split_first() {
                Some((0, bytes)) => reassembler.push_binary(bytes),
                _ => match std::str::from_utf8(frame) {
                    Ok(text) => reassembler.push_text(text),
                    Err(_) => continue,
                },
            };
            if let Ok(Some(packet)) = done {
                let (text, attachments) = packet.encode();
                let again = socketio::FullPacket::decode(version, &text, &attachments)
                    .unwrap_or_else(|e| {
                        panic!("a reassembled packet re-encodes to {text:?}, refused: {e}")
                    });
                assert_eq!(again, packet, "reassembled packet does not round-trip");
            }
        }
    }
}

/// Fuzz target `engineio_route`: the Engine.IO request router. The first
/// byte picks the method, whether the request is a WebSocket upgrade and
/// the versions the server speaks; the rest is the query string. A routed
/// request names a version the server speaks; a refusal's answer is
/// engine.io's JSON, read back as the same error.
pub fn engineio_route(data: &[u8]) {
    use crate::engineio::EioVersion;
    use crate::session::engineio::{route, Method, Route};
    use crate::session::HttpError;
    let Some((&pick, query)) = data.split_first() else {
        return;
    };
    let method = [Method::Get, Method::Post, Method::Other][usize::from(pick % 3)];
    let websocket = pick & 0x04 != 0;
    let versions: &[EioVersion] = match (pick >> 3) % 3 {
        0 => &[EioVersion::V4],
        1 => &[EioVersion::V3],
        _ => &[EioVersion::V3, EioVersion::V4],
    };
    let query = String::from_utf8_lossy(query);
    match route(method, &query, websocket, versions) {
        Ok(
            Route::Handshake { version, .. }
            | Route::Poll { version, .. }
            | Route::Post { version, .. }
            | Route::Upgrade { version, .. },
        ) => assert!(
            versions.contains(&version),
            "routed to {version:?}, which the server does not speak"
        ),
        Err(e) => {
            let response = e.response();
            assert_eq!(
                HttpError::from_response(response.status, &response.body),
                Some(e),
                "the answer to {e:?} does not read back"
            );
        }
    }
}

/// Fuzz target `timestamp`: the strict ISO 8601 parser of ASSA's
/// timestamps. `is_valid` agrees with `parse`; a parsed timestamp keeps its
/// text; the instant it names, written back, parses again to the same instant.
pub fn timestamp(data: &[u8]) {
    use crate::timestamp::Timestamp;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Timestamp::parse(text);
    assert_eq!(Timestamp::is_valid(text), parsed.is_some());
    if let Some(t) = parsed {
        assert_eq!(t.as_str(), text);
        let millis = t.unix_millis();
        let again = Timestamp::from_unix_millis(millis);
        let reread = Timestamp::parse(again.as_str())
            .unwrap_or_else(|| panic!("{text}: written back as {}, refused", again.as_str()));
        if (Timestamp::MIN_UNIX_MILLIS..=Timestamp::MAX_UNIX_MILLIS).contains(&millis) {
            assert_eq!(reread.unix_millis(), millis, "{text}: the instant changed");
        }
    }
}
