//! The checked-in header must be exactly what cbindgen generates from the current sources.

#[test]
fn checked_in_header_is_current() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/umedata.h"));
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/umedata.h"))
            .expect("include/umedata.h is missing");
    assert!(
        generated == checked_in,
        "include/umedata.h is stale: run `cargo build` outside CI and commit the header"
    );
}
