//! The import rules of docs/ARCHITECTURE.md, checked on the source: a module of the
//! library may use only the modules its layer allows (lower layers, and the named
//! neighbours of its own). Unit-test modules (`#[cfg(test)] mod tests` at the end of a
//! file) are exempt: a test may drive the whole library. The compiler enforces the rest:
//! `unsafe` (denied at the crate root) and the CLI's use of the public API only.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Who may import whom: (module, modules it may use). A module is a top-level module of
/// `src/`, or `storage::<file>` inside the storage layer, which has its own order.
const RULES: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("digest", &[]),
    ("world", &["error"]),
    ("convert", &["error"]),
    ("seeds", &["error"]),
    ("storage", &["error", "world"]),
    ("storage::codec", &["error"]),
    ("storage::blosc", &["error", "storage::codec"]),
    ("storage::claims", &["error"]),
    ("storage::store", &["error", "world", "storage::claims"]),
    (
        "storage::shard",
        &["error", "world", "storage::codec", "storage::blosc"],
    ),
    (
        "storage::dataset",
        &[
            "error",
            "world",
            "storage::claims",
            "storage::codec",
            "storage::shard",
            "storage::store",
        ],
    ),
    ("reader", &["error", "world", "convert", "storage"]),
    ("writer", &["error", "world", "convert", "storage"]),
    ("names", &["error", "world", "storage"]),
    (
        "splits",
        &["error", "world", "seeds", "digest", "storage", "reader"],
    ),
    (
        "manifest",
        &[
            "error", "world", "seeds", "digest", "storage", "reader", "writer", "splits",
        ],
    ),
    (
        "engine",
        &[
            "error", "world", "convert", "seeds", "digest", "storage", "reader", "writer",
            "splits", "manifest",
        ],
    ),
    (
        "reference",
        &["error", "world", "seeds", "manifest", "engine"],
    ),
    (
        "validate",
        &[
            "error",
            "world",
            "convert",
            "seeds",
            "digest",
            "storage",
            "reader",
            "writer",
            "splits",
            "manifest",
            "reference",
            "engine",
        ],
    ),
    (
        "ffi",
        &[
            "error",
            "world",
            "convert",
            "seeds",
            "digest",
            "storage",
            "reader",
            "writer",
            "splits",
            "manifest",
            "reference",
            "validate",
            "engine",
        ],
    ),
];

/// Modules compiled only for tests (declared `#[cfg(test)]`): they may drive the whole
/// library, and code may call into them from its `#[cfg(test)]` hooks.
const TEST_ONLY: &[(&str, &str)] = &[("storage::crashsim", "storage/mod.rs")];

/// Names the crate root re-exports, and the module each comes from.
const ROOT_REEXPORTS: &[(&str, &str)] = &[
    ("Layout", "convert"),
    ("Error", "error"),
    ("ErrorKind", "error"),
    ("Result", "error"),
    ("Manifest", "manifest"),
    ("Reader", "reader"),
    ("SampleRng", "seeds"),
    ("SeedDerivation", "seeds"),
    ("SplitRule", "splits"),
    ("Splits", "splits"),
    ("Codec", "storage"),
    ("StorageOptions", "storage"),
    ("ArrayKind", "world"),
    ("WorldDesc", "world"),
    ("SampleRef", "writer"),
    ("Summary", "writer"),
    ("Writer", "writer"),
    ("WriterOptions", "writer"),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The rule name of a source file: `storage::<file>` inside storage (`storage::<dir>` for
/// every file of a folder `src/storage/<dir>/`), else the top module.
fn module_of(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [f] if f == "lib" => None,
        [s, f] if s == "storage" && f != "mod" => Some(format!("storage::{f}")),
        [s, d, _, ..] if s == "storage" => Some(format!("storage::{d}")),
        [top, ..] => Some(top.clone()),
        [] => None,
    }
}

/// The module a `crate::...` path names, at the granularity of [`RULES`].
fn target_of(path: &str) -> String {
    let mut it = path.split("::");
    let first = it.next().unwrap_or_default();
    if let Some((_, m)) = ROOT_REEXPORTS.iter().find(|(n, _)| *n == first) {
        return m.to_string();
    }
    if first == "storage" {
        if let Some(sub) = it
            .next()
            .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return format!("storage::{sub}");
        }
    }
    first.to_string()
}

fn allowed(from: &str, to: &str) -> bool {
    if TEST_ONLY.iter().any(|(m, _)| *m == from || *m == to) {
        return true;
    }
    if from == to || (from.starts_with("storage::") && to == "storage") {
        return true;
    }
    let Some((_, ok)) = RULES.iter().find(|(m, _)| *m == from) else {
        return false;
    };
    ok.iter().any(|a| {
        *a == to
            || (to.starts_with("storage::") && *a == "storage")
            || (to == "storage" && a.starts_with("storage"))
    })
}

/// `crate::` paths used by the non-test code of `text` (the part before a trailing
/// `#[cfg(test)] mod tests`), comments skipped.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + 7..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let p = tail[..end].trim_end_matches(':');
            if !p.is_empty() {
                found.insert(p.to_string());
            } else if tail.starts_with('{') {
                // `use crate::{a, b::c}`: each item.
                let close = tail.find('}').unwrap_or(tail.len());
                for item in tail[1..close].split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        found.insert(item.to_string());
                    }
                }
            }
            rest = &tail[end..];
        }
    }
    found
}

#[test]
fn modules_import_only_what_their_layer_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut edges = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let Some(from) = module_of(rel) else { continue };
        assert!(
            from.starts_with("storage::") || RULES.iter().any(|(m, _)| *m == from),
            "{} belongs to module '{from}', which docs/ARCHITECTURE.md and RULES do not place in a layer",
            rel.display()
        );
        let text = std::fs::read_to_string(f).unwrap();
        for p in crate_paths(&text) {
            let to = target_of(&p);
            edges += 1;
            if !allowed(&from, &to) {
                violations.push(format!(
                    "{}: uses crate::{p} ({from} -> {to})",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        edges > 50,
        "only {edges} crate:: paths found: the scanner is broken"
    );
    assert!(
        violations.is_empty(),
        "imports that break the layering of docs/ARCHITECTURE.md:\n{}",
        violations.join("\n")
    );
}

#[test]
fn test_only_modules_are_compiled_only_for_tests() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (module, parent) in TEST_ONLY {
        let leaf = module.rsplit("::").next().unwrap();
        let text = std::fs::read_to_string(src.join(parent)).unwrap();
        assert!(
            text.contains(&format!("#[cfg(test)]\nmod {leaf};")),
            "{module} is exempt from the layer rules only as a test-only module: declare it `#[cfg(test)] mod {leaf};` in src/{parent}"
        );
    }
}

#[test]
fn the_checker_catches_a_violation() {
    // A storage file that reaches up into the writer, and a root re-export resolved.
    let paths = crate_paths("use crate::writer::Writer;\nuse crate::{error::Error, Layout};\n");
    let targets: BTreeSet<String> = paths.iter().map(|p| target_of(p)).collect();
    assert!(targets.contains("writer") && targets.contains("convert") && targets.contains("error"));
    assert!(!allowed("storage::store", "writer"));
    assert_eq!(
        module_of(Path::new("storage/dataset/read.rs")).as_deref(),
        Some("storage::dataset")
    );
    assert_eq!(
        module_of(Path::new("storage/dataset/mod.rs")).as_deref(),
        Some("storage::dataset")
    );
    assert_eq!(
        module_of(Path::new("storage/store.rs")).as_deref(),
        Some("storage::store")
    );
    assert_eq!(
        module_of(Path::new("storage/mod.rs")).as_deref(),
        Some("storage")
    );
    assert_eq!(
        module_of(Path::new("writer/mod.rs")).as_deref(),
        Some("writer")
    );
    assert!(allowed("storage::dataset", "storage::shard"));
    assert!(!allowed("storage::codec", "storage::dataset"));
    assert!(allowed("writer", "storage::dataset"));
    assert!(!allowed("splits", "manifest"));
    assert!(allowed("ffi", "writer"));
    assert!(!allowed("writer", "ffi"));
}
