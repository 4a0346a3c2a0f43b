//! Errors of the safe core. Every error carries a kind (mapped 1:1 to a C status code by
//! the FFI layer) and a message written for the user: it names the argument, the value
//! given and the value expected.

use std::fmt;

/// What went wrong, coarse enough for a caller to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A required pointer argument was NULL (only raised by the C face).
    NullArgument,
    /// A value is not acceptable: layout flag, codec, empty or invalid name, zero dimension.
    InvalidArgument,
    /// A sample index or range lies outside `[0, n_samples)`.
    OutOfRange,
    /// A buffer length does not match the length the world's shapes imply.
    LengthMismatch,
    /// The dataset world already exists and overwriting was not requested.
    AlreadyExists,
    /// The sample was already written.
    AlreadyWritten,
    /// The handle was finalized; it accepts no more writes.
    Finalized,
    /// A dataset, world or array is missing.
    NotFound,
    /// The operating system refused an operation (permissions, disk full, ...).
    Io,
    /// Data on disk is not in the form umedata expects.
    Format,
    /// NaN or infinity in the input while non-finite values are rejected.
    NonFinite,
    /// A sample that was never stored was asked for.
    NotWritten,
    /// A bug inside umedata.
    Internal,
}

/// An error of the umedata core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error of `kind` with a user-facing `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without any prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` (usually the API function name) put in front.
    #[must_use]
    pub fn context(self, context: &str) -> Self {
        Self {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn io(what: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{what} '{}': {err}", path.display()))
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result of the umedata core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps a zarrs storage error to our kinds: I/O problems stay I/O, the rest is a format issue.
pub(crate) fn from_storage(what: &str, err: zarrs::storage::StorageError) -> Error {
    use zarrs::storage::StorageError as S;
    match err {
        S::IOError(e) => Error::new(ErrorKind::Io, format!("{what}: {e}")),
        other => Error::new(ErrorKind::Format, format!("{what}: {other}")),
    }
}

/// Maps a zarrs array error: storage I/O stays I/O, the rest is a format/codec issue.
pub(crate) fn from_array(what: &str, err: zarrs::array::ArrayError) -> Error {
    use zarrs::array::ArrayError as A;
    match err {
        A::StorageError(s) => from_storage(what, s),
        other => Error::new(ErrorKind::Format, format!("{what}: {other}")),
    }
}
