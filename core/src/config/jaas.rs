//! JAAS login configuration files, as the JDK's `sun.security.provider.ConfigFile` reads them, and the
//! DIGEST-MD5 users ZooKeeper takes from them.
//!
//! ```text
//! Server {
//!        org.apache.zookeeper.server.auth.DigestLoginModule required
//!        user_super="adminsecret"
//!        user_bob="bobsecret";
//! };
//! ```
//!
//! A file is a list of sections `Name { module* };`, a module is `class flag key=value* ;`, the flag one of
//! `required`, `requisite`, `sufficient`, `optional` (any case). Tokens follow `java.io.StreamTokenizer` as
//! `ConfigFile` sets it up, so this parser accepts what the JDK accepts and refuses what it refuses:
//! - A bare word starts with a letter (ASCII, U+00A0..U+00FF or anything from U+0100 up), `$`, `_` or `*`, and
//!   goes on with those, digits, `.` and `-`: `org.apache.zookeeper.server.auth.DigestLoginModule`, `true`,
//!   `user_bob`. A token starting with a digit, `.` or `-` is a number, which is never valid: unquoted numeric
//!   passwords (`user_bob=1234`) are refused; quote them.
//! - `"..."` strings take `\n`, `\t`, `\r`, `\b`, `\f`, `\a`, `\v`, octal `\0`..`\377` and `\x` for any other `x`
//!   (so `\"` and `\\`); a backslash before a line break keeps the line break. A string also ends, without error,
//!   at the end of its line or of the file. `'...'` strings are tokens too but only valid as section names.
//! - Comments: `// ...`, `/* ... */` (unterminated: runs to the end of the file) and, StreamTokenizer's default,
//!   a lone `/` starts a comment to the end of the line, so unquoted paths (`keyTab=/etc/zk.keytab`) break.
//! - Option values (only values: not keys, class names or flags) go through `${property}` expansion
//!   (`PropertyExpander`): `${/}` is `/`; `${name}` is the JVM system property, looked up here through a closure
//!   (see [`parse_with_properties`]); an undefined one is an error, and so is a value that expands to nothing.
//!   `${{...}}` is left alone; a `${` without its `}` is kept as text.
//! - A second section with the same name is an error; a repeated option key keeps its last value.
//!
//! Deviations (both only make rzk stricter or clearer): a section name must be a word or a quoted string (the JDK
//! takes any token there, giving the section a null name), and line numbers in errors are true line numbers (the
//! JDK does not count line breaks inside `/* */` comments).
//!
//! ZooKeeper reads the file named by the JVM system property `java.security.auth.login.config` (JAAS falls back
//! to `~/.java.login.config` without it) and takes the section named by `zookeeper.sasl.serverconfig` (default
//! `Server`, [`DEFAULT_SERVER_SECTION`]): see [`JaasConfig::digest_users`].

use std::collections::BTreeMap;

/// The section ZooKeeper's server reads unless `zookeeper.sasl.serverconfig` names another
/// (`ZooKeeperSaslServer.DEFAULT_LOGIN_CONTEXT_NAME`).
pub const DEFAULT_SERVER_SECTION: &str = "Server";
/// The only login module rzk can run: it just holds the `user_<name>="<password>"` options.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";
/// The option-name prefix `SaslServerCallbackHandler` reads users from.
pub const USER_PREFIX: &str = "user_";

/// A parsed JAAS file: its sections in file order (names are unique).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JaasConfig {
    pub sections: Vec<JaasSection>,
}

/// `Name { module* };`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasSection {
    pub name: String,
    /// The line of the name.
    pub line: u32,
    pub modules: Vec<LoginModule>,
}

/// `class flag key=value* ;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    pub flag: ControlFlag,
    /// Option values after `${...}` expansion; a repeated key keeps its last value.
    pub options: BTreeMap<String, String>,
    /// The line of the class name.
    pub line: u32,
}

/// `LoginModuleControlFlag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFlag {
    Required,
    Requisite,
    Sufficient,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    /// The text does not follow the grammar.
    #[error("JAAS configuration, line {line}: expected {expected}, found {found}")]
    Syntax {
        line: u32,
        expected: &'static str,
        found: String,
    },
    #[error("JAAS configuration, line {line}: invalid control flag {flag:?} (expected required, requisite, sufficient or optional)")]
    InvalidControlFlag { line: u32, flag: String },
    #[error("JAAS configuration, line {line}: section {name:?} is defined more than once")]
    DuplicateSection { line: u32, name: String },
    /// `${name}` names a property that is not defined.
    #[error("JAAS configuration, line {line}: option {key}: unable to expand property {property}")]
    UndefinedProperty {
        line: u32,
        key: String,
        property: String,
    },
    /// A non-empty value that expands to the empty string.
    #[error("JAAS configuration, line {line}: option {key}: system property value {value:?} expanded to empty value")]
    ExpandedToEmpty {
        line: u32,
        key: String,
        value: String,
    },
    /// The section is missing or has no login module (the JDK treats both alike).
    #[error("no JAAS configuration section named '{0}' was found (or it has no login module)")]
    NoSection(String),
    /// A login module other than ZooKeeper's DigestLoginModule (Kerberos, say), which rzk cannot run.
    #[error("JAAS configuration, line {line}: section '{section}': login module {class} is not supported (rzk runs only {module})", module = DIGEST_LOGIN_MODULE)]
    UnsupportedLoginModule {
        line: u32,
        section: String,
        class: String,
    },
}

/// Parses a JAAS file in which no `${property}` is defined (`${/}` still works).
pub fn parse(text: &str) -> Result<JaasConfig, JaasError> {
    parse_with_properties(text, &|_: &str| None)
}

/// Parses a JAAS file, expanding `${name}` in option values with `property(name)` (the JVM system properties
/// in Java: a caller may offer `user.home` and the like; the core itself knows none).
pub fn parse_with_properties(
    text: &str,
    property: &dyn Fn(&str) -> Option<String>,
) -> Result<JaasConfig, JaasError> {
    let mut p = Parser {
        lexer: Lexer::new(text),
        property,
    };
    p.file()
}

impl JaasConfig {
    pub fn section(&self, name: &str) -> Option<&JaasSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The DIGEST-MD5 users of `section` (normally [`DEFAULT_SERVER_SECTION`]): every option `user_<name>` of
    /// every module of the section, `<name>` → value (a later module's wins), as ZooKeeper's
    /// `SaslServerCallbackHandler` builds its table. `user_` alone is the empty user name, as in ZooKeeper.
    ///
    /// Errors: the section is missing or empty ([`JaasError::NoSection`]; ZooKeeper then runs without SASL
    /// unless the file failed to parse), or it names a login module other than `DigestLoginModule`.
    pub fn digest_users(&self, section: &str) -> Result<BTreeMap<String, String>, JaasError> {
        let s = self
            .section(section)
            .filter(|s| !s.modules.is_empty())
            .ok_or_else(|| JaasError::NoSection(section.to_string()))?;
        let mut users = BTreeMap::new();
        for m in &s.modules {
            if m.class != DIGEST_LOGIN_MODULE {
                return Err(JaasError::UnsupportedLoginModule {
                    line: m.line,
                    section: section.to_string(),
                    class: m.class.clone(),
                });
            }
            for (key, value) in &m.options {
                if let Some(user) = key.strip_prefix(USER_PREFIX) {
                    users.insert(user.to_string(), value.clone());
                }
            }
        }
        Ok(users)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word.
    Word(String),
    /// A quoted string and its quote character.
    Quoted(char, String),
    /// A number (never valid in a JAAS file).
    Number,
    /// Any other single character.
    Char(char),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("{w:?}"),
            Tok::Quoted(q, s) => format!("{q}{s}{q}"),
            Tok::Number => {
                "a number (quote values that start with a digit, '.' or '-')".to_string()
            }
            Tok::Char(c) => format!("'{c}'"),
            Tok::Eof => "the end of the file".to_string(),
        }
    }
}

/// StreamTokenizer as `ConfigFile` configures it.
struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '$' | '_' | '*') || u32::from(c) >= 0xA0
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.' || c == '-'
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    fn bump(&mut self) -> Option<char> {
        self.chars.next()
    }

    /// Consumes a line break starting with `c` (CR, LF or CR LF) and counts it.
    fn newline(&mut self, c: char) {
        if c == '\r' && self.chars.peek() == Some(&'\n') {
            self.chars.next();
        }
        self.line += 1;
    }

    fn skip_to_eol(&mut self) {
        while let Some(&c) = self.chars.peek() {
            if c == '\n' || c == '\r' {
                return;
            }
            self.chars.next();
        }
    }

    /// The next token and the line it starts on.
    fn next(&mut self) -> (Tok, u32) {
        loop {
            let Some(c) = self.bump() else {
                return (Tok::Eof, self.line);
            };
            let line = self.line;
            if c == '\n' || c == '\r' {
                self.newline(c);
                continue;
            }
            if u32::from(c) <= 0x20 {
                continue;
            }
            if is_number_char(c) {
                if c == '-'
                    && !matches!(self.chars.peek(), Some(&d) if d == '.' || d.is_ascii_digit())
                {
                    return (Tok::Char('-'), line);
                }
                // Digits with at most one '.' (a second '.' starts the next token).
                let mut seen_dot = c == '.';
                while let Some(&d) = self.chars.peek() {
                    if d.is_ascii_digit() {
                        self.chars.next();
                    } else if d == '.' && !seen_dot {
                        seen_dot = true;
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                return (Tok::Number, line);
            }
            if is_word_start(c) {
                let mut word = String::from(c);
                while let Some(&d) = self.chars.peek() {
                    if is_word_start(d) || is_number_char(d) {
                        word.push(d);
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                return (Tok::Word(word), line);
            }
            if c == '"' || c == '\'' {
                return (Tok::Quoted(c, self.quoted(c)), line);
            }
            if c == '/' {
                if self.chars.peek() == Some(&'*') {
                    self.chars.next();
                    self.block_comment();
                    continue;
                }
                // `//`, and a lone `/` too (StreamTokenizer's comment character). StreamTokenizer consumes the
                // character after the `/` unexamined: after a lone `/` that is a line break, the next line is
                // swallowed as well.
                match self.bump() {
                    Some('\n') => self.line += 1,
                    Some('\r') if self.chars.peek() != Some(&'\n') => self.line += 1,
                    _ => {}
                }
                self.skip_to_eol();
                continue;
            }
            return (Tok::Char(c), line);
        }
    }

    fn block_comment(&mut self) {
        let mut star = false;
        while let Some(c) = self.bump() {
            match c {
                '/' if star => return,
                '\n' | '\r' => {
                    self.newline(c);
                    star = false;
                }
                _ => star = c == '*',
            }
        }
    }

    /// The body of a quoted string whose opening quote is consumed.
    fn quoted(&mut self, quote: char) -> String {
        let mut s = String::new();
        while let Some(&c) = self.chars.peek() {
            if c == quote {
                self.chars.next();
                break;
            }
            if c == '\n' || c == '\r' {
                break; // left for the next token: an unterminated string ends with its line
            }
            self.chars.next();
            if c != '\\' {
                s.push(c);
                continue;
            }
            let Some(e) = self.bump() else {
                s.push('\u{FFFF}'); // Java appends (char) -1 for a backslash at the end of the input
                break;
            };
            let v = match e {
                '0'..='7' => {
                    let mut v = e as u32 - '0' as u32;
                    if let Some(d2) = self.chars.peek().and_then(|d| d.to_digit(8)) {
                        self.chars.next();
                        v = v * 8 + d2;
                        if e <= '3' {
                            if let Some(d3) = self.chars.peek().and_then(|d| d.to_digit(8)) {
                                self.chars.next();
                                v = v * 8 + d3;
                            }
                        }
                    }
                    char::from_u32(v).unwrap_or('\u{FFFD}')
                }
                'a' => '\u{7}',
                'b' => '\u{8}',
                'f' => '\u{C}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\u{B}',
                // An escaped line break is kept and the string goes on on the next line; after an escaped CR,
                // the LF of a CR LF pair ends the string like any line break.
                '\n' => {
                    self.line += 1;
                    '\n'
                }
                '\r' => {
                    if self.chars.peek() != Some(&'\n') {
                        self.line += 1;
                    }
                    '\r'
                }
                other => other,
            };
            s.push(v);
        }
        s
    }
}

struct Parser<'a, 'p> {
    lexer: Lexer<'a>,
    property: &'p dyn Fn(&str) -> Option<String>,
}

impl Parser<'_, '_> {
    fn file(&mut self) -> Result<JaasConfig, JaasError> {
        let mut config = JaasConfig::default();
        let mut look = self.lexer.next();
        loop {
            let (tok, line) = look;
            let name = match tok {
                Tok::Eof => return Ok(config),
                Tok::Word(w) | Tok::Quoted(_, w) => w,
                other => return Err(syntax(line, "a section name", &other)),
            };
            let section;
            (section, look) = self.section(name, line)?;
            if config.section(&section.name).is_some() {
                return Err(JaasError::DuplicateSection {
                    line,
                    name: section.name,
                });
            }
            config.sections.push(section);
        }
    }

    /// `{ module* } ;` after the name; returns the section and the token after it.
    fn section(&mut self, name: String, line: u32) -> Result<(JaasSection, (Tok, u32)), JaasError> {
        self.expect_char('{')?;
        let mut modules = Vec::new();
        let mut look = self.lexer.next();
        loop {
            if look.0 == Tok::Char('}') {
                break;
            }
            let (class, class_line) = value(look, "a login module class name")?;
            let (flag, flag_line) = value(self.lexer.next(), "a control flag")?;
            let flag = match flag.to_uppercase().as_str() {
                "REQUIRED" => ControlFlag::Required,
                "REQUISITE" => ControlFlag::Requisite,
                "SUFFICIENT" => ControlFlag::Sufficient,
                "OPTIONAL" => ControlFlag::Optional,
                _ => {
                    return Err(JaasError::InvalidControlFlag {
                        line: flag_line,
                        flag,
                    })
                }
            };
            let mut options = BTreeMap::new();
            loop {
                look = self.lexer.next();
                if look.0 == Tok::Char(';') {
                    break;
                }
                let (key, _) = value(look, "an option name or ';'")?;
                self.expect_char('=')?;
                let (raw, value_line) = value(self.lexer.next(), "an option value")?;
                let expanded = self.expand(&raw, &key, value_line)?;
                options.insert(key, expanded);
            }
            modules.push(LoginModule {
                class,
                flag,
                options,
                line: class_line,
            });
            look = self.lexer.next();
        }
        self.expect_char(';')?;
        Ok((
            JaasSection {
                name,
                line,
                modules,
            },
            self.lexer.next(),
        ))
    }

    fn expect_char(&mut self, want: char) -> Result<(), JaasError> {
        let (tok, line) = self.lexer.next();
        if tok == Tok::Char(want) {
            return Ok(());
        }
        let expected = match want {
            '{' => "'{'",
            ';' => "';'",
            '=' => "'='",
            _ => "'}'",
        };
        Err(syntax(line, expected, &tok))
    }

    /// `PropertyExpander.expand`, strict: see the module documentation.
    fn expand(&self, value: &str, key: &str, line: u32) -> Result<String, JaasError> {
        if value.is_empty() || !value.contains("${") {
            return Ok(value.to_string());
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            if after.starts_with('{') {
                // `${{...}}` is not expanded: copied through its `}}` (or to the end).
                match after.find("}}") {
                    Some(end) if start + 2 + end + 2 < rest.len() => {
                        out.push_str(&rest[start..start + 2 + end + 2]);
                        rest = &rest[start + 2 + end + 2..];
                    }
                    _ => {
                        out.push_str(&rest[start..]);
                        rest = "";
                    }
                }
                continue;
            }
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            if name == "/" {
                out.push('/');
            } else {
                match (self.property)(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(JaasError::UndefinedProperty {
                            line,
                            key: key.to_string(),
                            property: name.to_string(),
                        })
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if out.is_empty() {
            return Err(JaasError::ExpandedToEmpty {
                line,
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        Ok(out)
    }
}

/// A word or a `"`-quoted string, where the grammar wants a value.
fn value((tok, line): (Tok, u32), expected: &'static str) -> Result<(String, u32), JaasError> {
    match tok {
        Tok::Word(w) | Tok::Quoted('"', w) => Ok((w, line)),
        other => Err(syntax(line, expected, &other)),
    }
}

fn syntax(line: u32, expected: &'static str, found: &Tok) -> JaasError {
    JaasError::Syntax {
        line,
        expected,
        found: found.describe(),
    }
}

#[cfg(test)]
mod tests;
