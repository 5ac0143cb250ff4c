//! Writes the seed corpora of the fuzz targets (`fuzz/seeds/<target>/`)
//! from `fixtures/`: every fixture, prefixed with the byte that selects its
//! kind. Run it after changing the fixtures:
//! `cargo run -p chatspec-protocols --example fuzz_seeds`.

use std::fs;
use std::path::{Path, PathBuf};

use protocols::{assa, chatpot, circles, fuzzing, socketcluster, socketio, sockets};

/// Fixtures larger than this are left out (the targets run with a small -max_len).
const MAX_SEED: usize = 16 * 1024;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seeds = root.join("fuzz/seeds");
    type KindByte = fn(Option<&str>) -> u8;
    let targets: [(&str, KindByte); 6] = [
        ("socketio", fuzzing::kind_byte::<socketio::Transport>),
        ("chatpot", fuzzing::kind_byte::<chatpot::Chatpot>),
        ("sockets", fuzzing::kind_byte::<sockets::Sockets>),
        (
            "socketcluster",
            fuzzing::kind_byte::<socketcluster::SocketCluster>,
        ),
        ("circles", fuzzing::kind_byte::<circles::Circles>),
        ("assa", fuzzing::kind_byte::<assa::Assa>),
    ];
    let mut assa_stream = Vec::new();
    let mut sio_frames = Vec::new();
    for (target, kind_byte) in targets {
        let dir = seeds.join(target);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let mut n = 0;
        for class in ["valid", "invalid"] {
            for path in files(&root.join("fixtures").join(target).join(class))? {
                let bytes = fs::read(&path)?;
                if bytes.len() > MAX_SEED {
                    continue;
                }
                let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                let kind = stem.split_once('@').map(|(_, k)| k);
                let mut seed = vec![kind_byte(kind)];
                seed.extend_from_slice(&bytes);
                fs::write(
                    dir.join(format!(
                        "{class}-{}",
                        path.file_name().unwrap().to_string_lossy()
                    )),
                    &seed,
                )?;
                n += 1;
                if target == "assa" && class == "valid" {
                    assa_stream.extend_from_slice(&bytes);
                }
                if target == "socketio" && kind.is_some_and(|k| k.starts_with("sio")) {
                    sio_frames.extend_from_slice(&bytes);
                    sio_frames.push(0xff);
                }
            }
        }
        println!("{target}: {n} seeds");
    }
    for (target, seed) in [
        ("assa_framing", [&[7u8][..], &assa_stream].concat()),
        ("socketio_reassembler", sio_frames),
    ] {
        let dir = seeds.join(target);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        for (i, piece) in seed.chunks(MAX_SEED).enumerate() {
            fs::write(dir.join(format!("fixtures-{i}")), piece)?;
        }
        println!("{target}: seeded");
    }
    Ok(())
}

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    out.retain(|p| p.extension().is_some_and(|e| e != "expect"));
    out.sort();
    Ok(out)
}
