//! `myid`: the file in dataDir naming which `server.N` line is this server, as in ZooKeeper.

use std::path::Path;

use anyhow::{anyhow, Context};

/// Reads `<data_dir>/myid`. Errors name the file and, when it is not a server id, what it holds.
pub fn read(data_dir: &Path) -> anyhow::Result<u64> {
    let path = data_dir.join("myid");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (zoo.cfg lists server.N lines, so this file must hold this server's N)",
            path.display()
        )
    })?;
    parse(&text).ok_or_else(|| {
        anyhow!(
            "{} must hold this server's id (a positive integer from the server.N lines), but holds {:?}",
            path.display(),
            text
        )
    })
}

/// The id in a myid file: one positive integer, surrounding whitespace allowed.
fn parse(text: &str) -> Option<u64> {
    text.trim().parse().ok().filter(|&id| id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_id_with_a_trailing_newline() {
        assert_eq!(parse("3\n"), Some(3));
        assert_eq!(parse(" 12 "), Some(12));
    }

    #[test]
    fn rejects_what_is_not_a_positive_id() {
        for bad in ["", "\n", "abc", "-1", "0", "1 2", "1.5"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rzk-myid-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn missing_file_error_names_the_file() {
        let dir = scratch_dir("missing");
        let err = format!("{:#}", read(&dir).unwrap_err());
        assert!(
            err.contains(&dir.join("myid").display().to_string()),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn invalid_content_error_names_the_file_and_the_content() {
        let dir = scratch_dir("invalid");
        std::fs::write(dir.join("myid"), "two\n").unwrap();
        let err = format!("{:#}", read(&dir).unwrap_err());
        assert!(err.contains("myid") && err.contains("\"two\\n\""), "{err}");
        std::fs::write(dir.join("myid"), "2\n").unwrap();
        assert_eq!(read(&dir).unwrap(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
