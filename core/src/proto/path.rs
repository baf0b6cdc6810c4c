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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/.a",
            "/a.",
            "/...",
            "/a/..b",
            "/zookeeper/quota",
            "/é",
            "/\u{a0}",
            "/\u{f900}",
            "/\u{ffef}",
            "/a b",
        ] {
            assert_eq!(validate(p, false), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn rejects_structural_errors() {
        assert_eq!(validate("", false), Err(PathError::Empty));
        assert_eq!(validate("a", false), Err(PathError::NotAbsolute));
        assert_eq!(validate("a/", true), Err(PathError::NotAbsolute));
        assert_eq!(validate("/a/", false), Err(PathError::TrailingSlash));
        assert_eq!(validate("//", false), Err(PathError::TrailingSlash));
        assert_eq!(validate("//a", false), Err(PathError::EmptyName(1)));
        assert_eq!(validate("/a//b", false), Err(PathError::EmptyName(3)));
    }

    #[test]
    fn rejects_dot_components() {
        assert_eq!(validate("/.", false), Err(PathError::Relative(1)));
        assert_eq!(validate("/..", false), Err(PathError::Relative(2)));
        assert_eq!(validate("/a/./b", false), Err(PathError::Relative(3)));
        assert_eq!(validate("/a/../b", false), Err(PathError::Relative(4)));
        assert_eq!(validate("/a/..", false), Err(PathError::Relative(4)));
    }

    #[test]
    fn rejects_forbidden_characters_at_utf16_positions() {
        assert_eq!(validate("/a\0", false), Err(PathError::InvalidChar(2)));
        for c in [
            '\u{1}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{e000}', '\u{f8ff}', '\u{fff0}', '\u{ffff}',
            '😀',
        ] {
            assert_eq!(
                validate(&format!("/{c}"), false),
                Err(PathError::InvalidChar(1)),
                "{c:?}"
            );
        }
        assert_eq!(validate("/é/\u{1}", false), Err(PathError::InvalidChar(3)));
        assert_eq!(validate("/ab😀", false), Err(PathError::InvalidChar(3)));
    }

    #[test]
    fn sequential_paths_are_checked_with_a_suffix() {
        assert_eq!(validate("/a/", true), Ok(()));
        assert_eq!(validate("/", true), Ok(()));
        assert_eq!(validate("/.", true), Ok(()), "becomes /.1");
        assert_eq!(validate("/a//", true), Err(PathError::EmptyName(3)));
        assert_eq!(validate("/a\u{1}", true), Err(PathError::InvalidChar(2)));
    }

    #[test]
    fn parent_and_basename() {
        assert_eq!((parent("/a/b"), basename("/a/b")), ("/a", "b"));
        assert_eq!((parent("/a"), basename("/a")), ("/", "a"));
        assert_eq!((parent("/"), basename("/")), ("", ""));
    }

    proptest! {
        #[test]
        fn never_panics(p in "/?[a-z./\u{0}\u{1}\u{7f}\u{e000}\u{fff0}😀é]{0,12}", seq in any::<bool>()) {
            let _ = validate(&p, seq);
        }

        /// Paths built from well-formed names are valid, and so is any parent of a valid path.
        #[test]
        fn well_formed_paths_are_valid(names in proptest::collection::vec("[a-zA-Z0-9_.-]{1,8}", 1..5)) {
            prop_assume!(names.iter().all(|n| n != "." && n != ".."));
            let p = format!("/{}", names.join("/"));
            prop_assert_eq!(validate(&p, false), Ok(()));
            prop_assert_eq!(validate(parent(&p), false), Ok(()));
        }
    }
}
