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
///
/// Error positions are UTF-16 indices, as in ZooKeeper's messages. ZooKeeper reports a NUL character with its
/// own message; here it is [`PathError::InvalidChar`] (clients see `BadArguments` either way).
pub fn validate(path: &str, sequential: bool) -> Result<(), PathError> {
    if sequential {
        validate_full(&format!("{path}1"))
    } else {
        validate_full(path)
    }
}

fn validate_full(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    // ZooKeeper walks UTF-16 code units. Any char outside the BMP starts with a surrogate unit, which is in a
    // forbidden range, so up to the first error Rust char indices equal UTF-16 indices.
    let chars: Vec<char> = path.chars().collect();
    for i in 1..chars.len() {
        let c = chars[i];
        let last = chars[i - 1];
        let ends_name = i + 1 == chars.len() || chars[i + 1] == '/';
        if c == '\0' {
            return Err(PathError::InvalidChar(i));
        } else if c == '/' && last == '/' {
            return Err(PathError::EmptyName(i));
        } else if c == '.' && last == '.' {
            // i >= 2 here: chars[0] is '/', so a '.' before this one is at index 1 or later.
            if chars[i - 2] == '/' && ends_name {
                return Err(PathError::Relative(i));
            }
        } else if c == '.' {
            if last == '/' && ends_name {
                return Err(PathError::Relative(i));
            }
        } else if is_forbidden_char(c) {
            return Err(PathError::InvalidChar(i));
        }
    }
    Ok(())
}

/// Control characters and the ranges ZooKeeper rejects: \u0001-\u001F, \u007F-\u009F, \uD800-\uF8FF
/// (surrogates and the private use area) and \uFFF0-\uFFFF; plus everything outside the BMP, which Java
/// sees as a surrogate pair.
fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..)
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
