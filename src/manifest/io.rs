//! Reading and writing `manifest.json`: parse and fully validate on load, validate and save
//! atomically (temp file, fsync, rename) on save. Separate because it is the only part of
//! the module that reads or writes `manifest.json` itself.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zarrs::storage::{Bytes, StoreKey, WritableStorageTraits};

use super::rules::validate_value;
use super::{schema, Manifest};
use crate::error::{from_storage, Error, ErrorKind, Result};

/// File name of the manifest inside a dataset.
pub const MANIFEST_FILE: &str = "manifest.json";

impl Manifest {
    /// Validates and saves the manifest as `<dataset>/manifest.json`, atomically (temp
    /// file, fsync, rename). Returns the path written.
    pub fn save(&self, dataset: &Path) -> Result<PathBuf> {
        self.validate()?;
        if !dataset.is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "dataset '{}' does not exist or is not a directory",
                    dataset.display()
                ),
            ));
        }
        let mut text = self.to_json();
        text.push('\n');
        let store = crate::storage::store::AtomicFsStore::open(dataset, true)?;
        let key = StoreKey::new(MANIFEST_FILE).map_err(|e| Error::internal(e.to_string()))?;
        store
            .set(&key, Bytes::from(text.into_bytes()))
            .map_err(|e| {
                from_storage(
                    &format!("writing '{}/{MANIFEST_FILE}'", dataset.display()),
                    e,
                )
            })?;
        Ok(dataset.join(MANIFEST_FILE))
    }

    /// Parses and fully validates manifest JSON text (errors are [`ErrorKind::Format`]).
    pub fn from_json(text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Format,
                format!("manifest is not valid JSON: {e}"),
            )
        })?;
        schema::validate(&v, ErrorKind::Format)?;
        let m: Manifest = serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                ErrorKind::Format,
                format!("manifest does not match umedata's model: {e}"),
            )
        })?;
        validate_value(&v, Some(&m), ErrorKind::Format)?;
        Ok(m)
    }

    /// Loads `<path>/manifest.json` (or `path` itself when it is a file) and validates it.
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            Error::new(kind, format!("cannot read '{}': {e}", file.display()))
        })?;
        Self::from_json(&text)
            .map_err(|e| Error::new(e.kind(), format!("'{}': {}", file.display(), e.message())))
    }
}
