//! The manifest schema (`schemas/manifest.json`, JSON Schema Draft-07), embedded in the
//! library and compiled once.

use std::sync::OnceLock;

use serde_json::Value;

use crate::error::{Error, Result};

/// The text of `schemas/manifest.json`.
pub const MANIFEST_SCHEMA: &str = include_str!("../../schemas/manifest.json");

/// At most this many violations are listed in one message.
const MAX_LISTED: usize = 10;

fn validator() -> Result<&'static jsonschema::Validator> {
    static V: OnceLock<std::result::Result<jsonschema::Validator, String>> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(MANIFEST_SCHEMA)
            .map_err(|e| format!("embedded manifest schema is not JSON: {e}"))?;
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| format!("embedded manifest schema does not compile: {e}"))
    })
    .as_ref()
    .map_err(|e| Error::internal(e.clone()))
}

/// One schema violation: where (JSON pointer into the manifest, `""` = the top level),
/// which rule (the schema keyword) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value, e.g. `/simulators/nk/parameters/bounds/2`.
    pub path: String,
    /// The schema keyword that failed (`type`, `required`, `pattern`, ...).
    pub rule: String,
    /// The validator's description.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "(top level)"
        } else {
            &self.path
        };
        write!(f, "at {path} (rule '{}'): {}", self.rule, self.message)
    }
}

/// Every violation of the manifest schema by `instance` (empty when valid).
pub fn violations(instance: &Value) -> Result<Vec<Violation>> {
    let v = validator()?;
    Ok(v.iter_errors(instance)
        .map(|e| {
            let schema_path = e.schema_path.as_str().to_string();
            let rule = schema_path
                .rsplit('/')
                .find(|s| !s.is_empty() && s.parse::<usize>().is_err())
                .unwrap_or("schema")
                .to_string();
            Violation {
                path: e.instance_path.as_str().to_string(),
                rule,
                message: e.to_string(),
            }
        })
        .collect())
}

/// Joins violations into one message: "N schema violation(s): at ... ; at ...".
pub fn describe(violations: &[Violation]) -> String {
    let mut s = format!(
        "{} schema violation{} of schemas/manifest.json: ",
        violations.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    let listed: Vec<String> = violations
        .iter()
        .take(MAX_LISTED)
        .map(|v| v.to_string())
        .collect();
    s += &listed.join("; ");
    if violations.len() > MAX_LISTED {
        s += &format!("; and {} more", violations.len() - MAX_LISTED);
    }
    s
}

/// Checks `instance` against the manifest schema; the error (of `kind`) lists the path
/// and rule of each violation.
pub fn validate(instance: &Value, kind: crate::error::ErrorKind) -> Result<()> {
    let v = violations(instance)?;
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::new(kind, describe(&v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_compiles_and_rejects_with_paths() {
        let v = violations(&json!({"version": 3})).unwrap();
        assert!(v.iter().any(|x| x.rule == "required" && x.path.is_empty()));
        assert!(v.iter().any(|x| x.rule == "type" && x.path == "/version"));
        let only_type: Vec<Violation> = v.into_iter().filter(|x| x.rule == "type").collect();
        let msg = describe(&only_type);
        assert!(msg.contains("at /version (rule 'type')"), "{msg}");
    }
}
