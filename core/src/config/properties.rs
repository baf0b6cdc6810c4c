//! A reader for `java.util.Properties` text, the syntax zoo.cfg is written in.
//!
//! Rules (from the `Properties.load` contract): a line whose first non-blank character is `#` or `!` is a
//! comment; a line ending in an odd number of backslashes continues on the next line (whose leading blanks
//! are dropped); the key ends at the first unescaped `=`, `:` or blank, after which blanks and at most one
//! `=`/`:` are skipped; `\t \n \r \f \uXXXX` are escapes and any other `\c` stands for `c`. ZooKeeper trims
//! keys and values, so we do too. Unlike `Properties`, we keep every entry in file order with its line
//! number so that errors can point at a line; "later keys win" is applied by the caller.

/// One `key=value` entry and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// Splits properties text into entries, in file order.
pub fn parse_properties(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start_line = i + 1;
        let first = trim_leading_blanks(lines[i]);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes escapes the line break.
        let mut logical = String::from(first);
        while ends_with_odd_backslashes(&logical) {
            logical.pop();
            match lines.get(i) {
                Some(next) => {
                    logical.push_str(trim_leading_blanks(next));
                    i += 1;
                }
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        entries.push(Entry {
            line: start_line,
            key: key.trim().to_string(),
            value: value.trim().to_string(),
        });
    }
    entries
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\u{c}'
}

fn trim_leading_blanks(s: &str) -> &str {
    s.trim_start_matches(is_blank)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits a logical line at the key's end and unescapes both parts.
fn split_key_value(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut key_end = chars.len();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if c == '=' || c == ':' || is_blank(c) {
            key_end = i;
            break;
        }
        i += 1;
    }
    let mut v = key_end;
    while v < chars.len() && is_blank(chars[v]) {
        v += 1;
    }
    if v < chars.len() && (chars[v] == '=' || chars[v] == ':') {
        v += 1;
        while v < chars.len() && is_blank(chars[v]) {
            v += 1;
        }
    }
    (
        unescape(&chars[..key_end]),
        unescape(&chars[v.min(chars.len())..]),
    )
}

fn unescape(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = chars.get(i) else { break };
        i += 1;
        match e {
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars[i..chars.len().min(i + 4)].iter().collect();
                match (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                {
                    Some(ch) => {
                        out.push(ch);
                        i += 4;
                    }
                    // Java throws on a malformed \u escape; we keep the text so the value check reports it.
                    None => out.push('u'),
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(usize, String, String)> {
        parse_properties(text)
            .into_iter()
            .map(|e| (e.line, e.key, e.value))
            .collect()
    }

    #[test]
    fn equals_colon_and_blank_all_separate_key_from_value() {
        assert_eq!(
            kv("a=1\nb: 2\nc 3\n  d  =  4  \n"),
            vec![
                (1, "a".into(), "1".into()),
                (2, "b".into(), "2".into()),
                (3, "c".into(), "3".into()),
                (4, "d".into(), "4".into()),
            ]
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_but_counted() {
        assert_eq!(
            kv("# c\n! c\n\n   \nx=1\r\n"),
            vec![(5, "x".into(), "1".into())]
        );
    }

    #[test]
    fn only_the_first_separator_splits() {
        assert_eq!(
            kv("server.1=h:2888:3888;2181"),
            vec![(1, "server.1".into(), "h:2888:3888;2181".into())]
        );
    }

    #[test]
    fn backslash_continues_a_line_and_escapes_work() {
        assert_eq!(
            kv("a=x\\\n   y\nb=\\u0041\\:\\\\"),
            vec![(1, "a".into(), "xy".into()), (3, "b".into(), "A:\\".into())]
        );
    }

    #[test]
    fn key_without_value_has_empty_value() {
        assert_eq!(kv("lonely\n"), vec![(1, "lonely".into(), String::new())]);
    }
}
