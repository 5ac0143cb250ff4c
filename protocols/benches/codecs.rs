//! criterion benches of every codec: decode and encode of a typical and a
//! large message of each protocol, beside plain `serde_json` (parse into a
//! `Value` and write it back) on the same bytes as the floor.
//!
//! `cargo bench -p chatspec-protocols --bench codecs`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use protocols::Dialect;

/// A string of this many bytes makes a message "large".
const LARGE: usize = 64 * 1024;

/// A typical message (a fixture of the protocol) and its kind.
struct Sample {
    name: &'static str,
    kind: Option<&'static str>,
    typical: &'static [u8],
}

macro_rules! fixture {
    ($protocol:literal, $file:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/",
            $protocol,
            "/valid/",
            $file
        ))
    };
}

/// `json` with its longest string value replaced by a `LARGE`-byte one.
fn enlarge(json: &[u8]) -> Vec<u8> {
    fn longest(v: &mut serde_json::Value) -> Option<&mut String> {
        match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Array(items) => {
                items.iter_mut().filter_map(longest).max_by_key(|s| s.len())
            }
            serde_json::Value::Object(m) => {
                m.values_mut().filter_map(longest).max_by_key(|s| s.len())
            }
            _ => None,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(json).expect("a JSON fixture");
    if let Some(s) = longest(&mut value) {
        *s = "x".repeat(LARGE);
    }
    serde_json::to_vec(&value).expect("JSON encodes")
}

/// The JSON part of a message: after the packet type digits for Socket.IO.
fn json_part(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// One codec's bench function.
type Bench = fn(&mut Criterion, &Sample, &[u8]);

fn bench_codec<D: Dialect>(c: &mut Criterion, sample: &Sample, large: &[u8]) {
    let mut group = c.benchmark_group(sample.name);
    for (size, bytes) in [("typical", sample.typical), ("large", large)] {
        let message = D::decode(sample.kind, bytes).expect("the sample decodes");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("decode", size), bytes, |b, bytes| {
            b.iter(|| D::decode(sample.kind, black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::new("encode", size), &message, |b, m| {
            b.iter(|| D::encode(black_box(m)))
        });
        let json = json_part(bytes);
        group.bench_with_input(
            BenchmarkId::new("serde_json-parse", size),
            json,
            |b, json| b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(json))),
        );
        let value: serde_json::Value = serde_json::from_slice(json).expect("JSON");
        group.bench_with_input(
            BenchmarkId::new("serde_json-write", size),
            &value,
            |b, v| b.iter(|| serde_json::to_vec(black_box(v))),
        );
    }
    group.finish();
}

fn codecs(c: &mut Criterion) {
    let socketio = Sample {
        name: "socketio",
        kind: Some("eio4"),
        typical: br#"42["message",{"from":"alice","text":"hello, world","at":1700000000000}]"#,
    };
    let mut large = b"42".to_vec();
    large.extend(enlarge(json_part(socketio.typical)));
    bench_codec::<protocols::socketio::Transport>(c, &socketio, &large);

    let json_samples: [(Sample, Bench); 5] = [
        (
            Sample {
                name: "assa",
                kind: None,
                typical: fixture!("assa", "s5.1-new-message-broadcast.json"),
            },
            bench_codec::<protocols::assa::Assa>,
        ),
        (
            Sample {
                name: "socketcluster",
                kind: None,
                typical: fixture!("socketcluster", "emitted-events.json"),
            },
            bench_codec::<protocols::socketcluster::SocketCluster>,
        ),
        (
            Sample {
                name: "chatpot",
                kind: Some("message"),
                typical: fixture!("chatpot", "signal-message@message.json"),
            },
            bench_codec::<protocols::chatpot::Chatpot>,
        ),
        (
            Sample {
                name: "sockets",
                kind: None,
                typical: fixture!("sockets", "s3.1.2-send-message.json"),
            },
            bench_codec::<protocols::sockets::Sockets>,
        ),
        (
            Sample {
                name: "circles",
                kind: Some("client"),
                typical: fixture!("circles", "event-client-message@client.json"),
            },
            bench_codec::<protocols::circles::Circles>,
        ),
    ];
    for (sample, bench) in &json_samples {
        bench(c, sample, &enlarge(sample.typical));
    }
}

criterion_group!(benches, codecs);
criterion_main!(benches);
