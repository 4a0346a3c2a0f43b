//! Provenance of a run: the git commit of the simulator's repository (libgit2), the
//! creation time (RFC 3339) and the hash of the configuration in canonical JSON.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// What git says about the repository a path lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitInfo {
    /// HEAD commit as hex, or `"unknown"` (not a repository, no commit yet, unreadable).
    pub commit: String,
    /// Whether tracked files differ from HEAD (index or work tree; untracked files are
    /// ignored); `None` when unknown (bare repository, no repository).
    pub dirty: Option<bool>,
    /// Work directory of the repository, when there is one.
    pub workdir: Option<String>,
}

impl GitInfo {
    /// The record used outside a repository.
    pub fn unknown() -> Self {
        Self {
            commit: "unknown".into(),
            dirty: None,
            workdir: None,
        }
    }
}

/// Reads HEAD and the dirty flag of the repository containing `path` (searching upwards).
/// Never fails: anything git cannot tell gives `"unknown"` / `None`.
pub fn git_info(path: &Path) -> GitInfo {
    let Ok(repo) = git2::Repository::discover(path) else {
        return GitInfo::unknown();
    };
    let commit = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string())
        .unwrap_or_else(|| "unknown".into());
    let dirty = if repo.is_bare() || commit == "unknown" {
        None
    } else {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(false)
            .include_ignored(false)
            .exclude_submodules(true);
        repo.statuses(Some(&mut opts)).ok().map(|s| !s.is_empty())
    };
    GitInfo {
        commit,
        dirty,
        workdir: repo.workdir().map(|p| p.display().to_string()),
    }
}

/// Now, as RFC 3339 UTC with second precision (`2026-05-01T12:34:56Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_from_unix(secs)
}

/// Formats seconds since 1970-01-01T00:00:00Z as RFC 3339 UTC.
pub fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since the epoch (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parses a configuration given as JSON text; it must be an object.
pub fn parse_config(text: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "config_json is not valid JSON: {e} (expected a JSON object)"
        ))
    })?;
    if !v.is_object() {
        return Err(Error::invalid(format!(
            "config_json is a JSON {}, expected a JSON object",
            json_type(&v)
        )));
    }
    Ok(v)
}

pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Canonical JSON in the style of RFC 8785 (JCS): object keys sorted by their UTF-16 code
/// units, no whitespace, strings escaped minimally (`\"`, `\\`, `\b \f \n \r \t`, other
/// control characters as `\u00xx`), numbers in ECMAScript form (integers as integers,
/// `1e+21`, `1e-7`, shortest round-trip digits). Integers beyond 2^53 are written
/// exactly (JCS would round them through a double).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&ecmascript_number(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript Number::toString for a finite double.
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return "null".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // Shortest round-trip digits and exponent: "d.ddde±x".
    let e = format!("{:e}", x.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().unwrap_or(0) + 1; // value = 0.digits × 10^n
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let es = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if k == 1 {
            format!("{digits}e{es}")
        } else {
            format!("{}.{}e{es}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

pub use crate::digest::sha256_hex;

/// The config hash: SHA-256 of the canonical JSON.
pub fn config_hash(config: &Value) -> String {
    sha256_hex(canonical_json(config).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, 2.50, 1e21, 1e-7, -0.0, 3.0], "a": {"y": "\u00e9\n", "x": null}, "\u20ac": true, "\r": 1 }"#)
                .unwrap();
        assert_eq!(
            canonical_json(&v),
            "{\"\\r\":1,\"a\":{\"x\":null,\"y\":\"\u{e9}\\n\"},\"b\":[1,2.5,1e+21,1e-7,0,3],\"\u{20ac}\":true}"
        );
        assert_eq!(ecmascript_number(123456.789), "123456.789");
        assert_eq!(ecmascript_number(1e20), "100000000000000000000");
        assert_eq!(ecmascript_number(0.000001), "0.000001");
        assert_eq!(ecmascript_number(-1.5e-9), "-1.5e-9");
        assert_eq!(ecmascript_number(4.35e300), "4.35e+300");
        // Key order and whitespace do not change the hash.
        let a = config_hash(&json!({"beta": 0.99, "grid": {"n": 5, "m": [1, 2]}}));
        let b = config_hash(
            &serde_json::from_str(r#"{"grid":{"m":[1,2],"n":5},  "beta":0.99}"#).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(
            config_hash(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(now_rfc3339().len(), 20);
    }

    #[test]
    fn git_outside_and_inside() {
        let dir = std::env::temp_dir().join(format!("ume-nogit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // /tmp is normally outside any repository; if it is not, the commit is real hex.
        let info = git_info(&dir);
        assert!(info.commit == "unknown" || info.commit.len() == 40);
        let _ = std::fs::remove_dir_all(&dir);
        // A fresh repository with one commit, then a modified tracked file.
        let dir = std::env::temp_dir().join(format!("ume-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = git2::Repository::init(&dir).unwrap();
        assert_eq!(git_info(&dir).commit, "unknown"); // no commit yet
        std::fs::write(dir.join("a.txt"), "1").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        let id = repo
            .commit(Some("HEAD"), &sig, &sig, "c", &tree, &[])
            .unwrap();
        let info = git_info(&dir.join("."));
        assert_eq!(info.commit, id.to_string());
        assert_eq!(info.dirty, Some(false));
        std::fs::write(dir.join("untracked.txt"), "x").unwrap();
        assert_eq!(git_info(&dir).dirty, Some(false));
        std::fs::write(dir.join("a.txt"), "2").unwrap();
        assert_eq!(git_info(&dir).dirty, Some(true));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
