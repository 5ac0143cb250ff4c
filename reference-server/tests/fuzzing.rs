//! The `assa_core` fuzz target's invariants on stable: its committed corpus and a fixed-seed generator.

use reference_server::fuzzing;

#[test]
fn the_assa_core_keeps_its_invariants_on_the_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/assa_core");
    let mut n = 0;
    for file in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = file.expect("corpus entry").path();
        fuzzing::assa_core(&std::fs::read(&path).expect("corpus file"));
        n += 1;
    }
    assert!(n > 0, "no corpus for assa_core");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in 0..500usize {
        let input: Vec<u8> = (0..len % 512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        fuzzing::assa_core(&input);
    }
}
