//! Generates include/umedata.h from the `extern "C"` items of src/ffi with cbindgen.
//! Only src/ffi is parsed, so constants of the safe core never leak into the header.
//!
//! The header is written to $OUT_DIR/umedata.h. Outside CI it is also copied to
//! include/umedata.h when it changed, so a developer's build keeps the checked-in header
//! current; in CI (env CI set) nothing in the source tree is touched, and the test
//! `tests/header.rs` fails if the checked-in header is stale.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("reading cbindgen.toml");
    let v = |k: &str| std::env::var(k).unwrap();
    config.after_includes = Some(format!(
        "\n#define UME_VERSION_MAJOR {}\n#define UME_VERSION_MINOR {}\n#define UME_VERSION_PATCH {}\n#define UME_VERSION_STRING \"{}\"",
        v("CARGO_PKG_VERSION_MAJOR"),
        v("CARGO_PKG_VERSION_MINOR"),
        v("CARGO_PKG_VERSION_PATCH"),
        v("CARGO_PKG_VERSION"),
    ));
    let generated = out_dir.join("umedata.h");
    // Only src/ffi (and the modules it declares) is parsed: the header is the C face and
    // nothing else, whatever `pub const` the safe core defines.
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(&generated);

    if std::env::var_os("CI").is_none() {
        let checked_in = crate_dir.join("include/umedata.h");
        let new = std::fs::read(&generated).unwrap();
        if std::fs::read(&checked_in).ok().as_deref() != Some(new.as_slice()) {
            std::fs::create_dir_all(crate_dir.join("include")).unwrap();
            std::fs::write(&checked_in, &new).unwrap();
            println!("cargo:warning=include/umedata.h was regenerated; commit it");
        }
    }
}
