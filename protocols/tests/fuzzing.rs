//! The fuzz targets' properties, on every fixture: what `fuzz/` checks on
//! random input holds on the documents' own messages (and runs on stable).

use protocols::{fuzzing, Dialect, Protocol};

use crate::check::fixtures;

fn replay<D: Dialect>() -> usize {
    let mut n = 0;
    for class in ["valid", "invalid"] {
        for f in fixtures(D::PROTOCOL, class) {
            fuzzing::dialect::<D>(f.kind.as_deref(), &f.bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn every_fixture_keeps_the_dialect_properties() {
    let n = replay::<protocols::socketio::Transport>()
        + replay::<protocols::chatpot::Chatpot>()
        + replay::<protocols::sockets::Sockets>()
        + replay::<protocols::socketcluster::SocketCluster>()
        + replay::<protocols::circles::Circles>()
        + replay::<protocols::assa::Assa>();
    assert!(n >= 400, "only {n} fixtures replayed");
}

#[test]
fn the_assa_stream_of_every_example_is_cut_at_every_chunk_size() {
    let mut stream = Vec::new();
    for f in fixtures(Protocol::Assa, "valid") {
        stream.extend_from_slice(&f.bytes);
        stream.push(b'\n');
    }
    for cut in 0..64u8 {
        let mut input = vec![cut];
        input.extend_from_slice(&stream);
        fuzzing::assa_framing(&input);
    }
}

#[test]
fn socketio_fixture_packets_go_through_the_reassembler() {
    let mut input = Vec::new();
    for f in fixtures(Protocol::Socketio, "valid") {
        if f.kind.as_deref().is_some_and(|k| k.starts_with("sio")) {
            input.extend_from_slice(&f.bytes);
            input.push(0xff);
        }
    }
    assert!(input.len() > 100);
    // A binary event and its two attachments.
    input.extend_from_slice(
        br#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    );
    input.extend_from_slice(&[0xff, 0, 1, 2, 0xff, 0, 3]);
    fuzzing::socketio_reassembler(&input);
}
