//! Znode path rules (PathUtils.validatePath) and path helpers.

/// Why a path is not a valid znode path; clients get `BadArguments`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path must not be empty")]
    Empty,
    #[error("path must start with / character")]
    NotAbsolute,
    #[error("path must not end with / character")]
    TrailingSlash,
    #[error("empty node name specified @{0}")]
    EmptyName(usize),
    #[error("relative paths not allowed @{0}")]
    Relative(usize),
    #[error("invalid character @{0}")]
    InvalidChar(usize),
}

/// Validates a znode path as ZooKeeper does. With `sequential`, the path is checked as if the server's
/// 10-digit suffix were already appended (so "/a/" is a valid sequential prefix).
pub fn validate(path: &str, sequential: bool) -> Result<(), PathError> {
    let _ = (path, sequential);
    todo!()
}

/// The parent of a valid path ("/" for top-level nodes). The root has no parent and returns "".
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => "/",
        Some(0) | None => "",
        Some(i) => &path[..i],
    }
}

/// The last component of a valid path ("" for the root).
pub fn basename(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}
