use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

const ZK_DOC_EXAMPLE: &str = r#"
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret";
};
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="bob"
       password="bobsecret";
};
"#;

fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The one module of the one section of `text`: its options.
fn only_options(text: &str) -> BTreeMap<String, String> {
    let c = parse(text).unwrap();
    assert_eq!(c.sections.len(), 1);
    assert_eq!(c.sections[0].modules.len(), 1);
    c.sections[0].modules[0].options.clone()
}

fn props(name: &str) -> Option<String> {
    match name {
        "foo.bar" => Some("baz".into()),
        "empty.prop" => Some(String::new()),
        _ => None,
    }
}

#[test]
fn zookeeper_example() {
    let c = parse(ZK_DOC_EXAMPLE).unwrap();
    assert_eq!(c.sections.len(), 2);
    let server = c.section("Server").unwrap();
    assert_eq!(server.line, 2);
    assert_eq!(server.modules.len(), 1);
    let m = &server.modules[0];
    assert_eq!(m.class, DIGEST_LOGIN_MODULE);
    assert_eq!(m.flag, ControlFlag::Required);
    assert_eq!(m.line, 3);
    assert_eq!(
        m.options,
        opts(&[("user_super", "adminsecret"), ("user_bob", "bobsecret")])
    );
    assert_eq!(
        c.digest_users(DEFAULT_SERVER_SECTION).unwrap(),
        opts(&[("super", "adminsecret"), ("bob", "bobsecret")])
    );
    // The client section has no user_ options.
    assert_eq!(c.digest_users("Client").unwrap(), BTreeMap::new());
    assert_eq!(
        c.section("Client").unwrap().modules[0].options["username"],
        "bob"
    );
}

#[test]
fn digest_users_rules() {
    // Every module's user_ options, the later module's winning; `user_` alone is the empty name.
    let text = format!(
        "Server {{ {DIGEST_LOGIN_MODULE} required user_a=\"1\" user_=\"e\" debug=true;\n\
         {DIGEST_LOGIN_MODULE} optional user_a=\"2\" user_b=\"3\"; }};"
    );
    let c = parse(&text).unwrap();
    assert_eq!(
        c.digest_users("Server").unwrap(),
        opts(&[("a", "2"), ("b", "3"), ("", "e")])
    );
    // Section names are case-sensitive; a missing or empty section is an error the caller can tell apart.
    assert_eq!(
        c.digest_users("server"),
        Err(JaasError::NoSection("server".into()))
    );
    let c = parse("Server { };").unwrap();
    assert_eq!(
        c.digest_users("Server"),
        Err(JaasError::NoSection("Server".into()))
    );
    // A Kerberos server section cannot be run.
    let c = parse(
        "Server {\n com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n};",
    )
    .unwrap();
    assert_eq!(
        c.digest_users("Server"),
        Err(JaasError::UnsupportedLoginModule {
            line: 2,
            section: "Server".into(),
            class: "com.sun.security.auth.module.Krb5LoginModule".into()
        })
    );
}

#[test]
fn control_flags() {
    let c =
        parse("A { a REQUIRED; b Requisite; c sufficient; d optional; e \"required\"; };").unwrap();
    let flags: Vec<_> = c.sections[0].modules.iter().map(|m| m.flag).collect();
    use ControlFlag::*;
    assert_eq!(flags, [Required, Requisite, Sufficient, Optional, Required]);
    // Java upper-cases with full Unicode mappings: dotless i, long s and the ffi ligature fold to ASCII.
    let c = parse("A { a requ\u{131}red; b \u{17F}ufficient; c su\u{FB03}cient; };").unwrap();
    let flags: Vec<_> = c.sections[0].modules.iter().map(|m| m.flag).collect();
    assert_eq!(flags, [Required, Sufficient, Sufficient]);
    assert_eq!(
        parse("A {\n a mandatory; };"),
        Err(JaasError::InvalidControlFlag {
            line: 2,
            flag: "mandatory".into()
        })
    );
}

#[test]
fn words_and_numbers() {
    // Word characters: letters, U+00A0 and up, $ _ *, then also digits . -
    assert_eq!(
        only_options("S { a required k=a.b-c.1 $k=$v *k=*v _k=_v n=\u{A0}x u=\u{1F600}x; };"),
        opts(&[
            ("k", "a.b-c.1"),
            ("$k", "$v"),
            ("*k", "*v"),
            ("_k", "_v"),
            ("n", "\u{A0}x"),
            ("u", "\u{1F600}x")
        ])
    );
    // A token starting with a digit, '.' or '-' (then a digit) is a number: never valid, quote it.
    for value in ["1234", "-1", ".x", "1.2.3"] {
        let err = parse(&format!("S {{ a required k={value}; }};")).unwrap_err();
        assert!(
            matches!(
                err,
                JaasError::Syntax {
                    line: 1,
                    expected: "an option value",
                    ..
                }
            ),
            "{value}: {err}"
        );
    }
    assert_eq!(
        only_options("S { a required user_bob=\"1234\"; };"),
        opts(&[("user_bob", "1234")])
    );
    // A lone '-' is an ordinary character.
    assert_eq!(
        parse("S { a required k=-x; };"),
        Err(JaasError::Syntax {
            line: 1,
            expected: "an option value",
            found: "'-'".into()
        })
    );
    // C1 controls (U+0080..U+009F) are ordinary characters too.
    assert!(parse("S { a required k=a\u{85}b; };").is_err());
}

#[test]
fn quoted_strings() {
    assert_eq!(
        only_options(r#"S { a required k="\n\t\r\b\f\a\v\\\"\q\101\0\377\400\8"; };"#),
        opts(&[("k", "\n\t\r\u{8}\u{C}\u{7}\u{B}\\\"qA\u{0}\u{FF} 08")])
    );
    assert_eq!(
        only_options("S { \"a b\" \"optional\" \"k k\"=\"v v\"; };"),
        opts(&[("k k", "v v")])
    );
    // An escaped line break stays in the value and the string goes on.
    assert_eq!(
        only_options("S { a required k=\"ab\\\ncd\"; };"),
        opts(&[("k", "ab\ncd")])
    );
    // An unterminated string ends with its line (no error, as in Java) or with the file.
    assert_eq!(
        only_options("S { a required k=\"abc\n; };"),
        opts(&[("k", "abc")])
    );
    assert_eq!(
        parse("S { a required k=\"abc"),
        Err(JaasError::Syntax {
            line: 1,
            expected: "an option name or ';'",
            found: "the end of the file".into()
        })
    );
    // Single quotes make a token that only a section name may be.
    assert_eq!(
        parse("'Server' { a required; };").unwrap().sections[0].name,
        "Server"
    );
    assert_eq!(
        parse("\"My Server\" { a required; };").unwrap().sections[0].name,
        "My Server"
    );
    assert_eq!(
        parse("S { a required k='v'; };"),
        Err(JaasError::Syntax {
            line: 1,
            expected: "an option value",
            found: "'v'".into()
        })
    );
}

#[test]
fn comments() {
    let text = "// leading\n/* block\n comment */ S /***/ { a /* x **/ required // trailing\n k=v; };\n/* unterminated";
    assert_eq!(only_options(text), opts(&[("k", "v")]));
    // A lone '/' comments out the rest of its line: unquoted paths break.
    assert_eq!(
        parse("S { a required k=/etc/x\n k2=\"v\"; };"),
        Err(JaasError::Syntax {
            line: 2,
            expected: "an option name or ';'",
            found: "'='".into()
        })
    );
    // ... and when the '/' ends its line, the next line goes too (StreamTokenizer swallows the line break).
    assert_eq!(
        only_options("S { a required k=v /\n k2=\"v\"\n k3=w; };"),
        opts(&[("k", "v"), ("k3", "w")])
    );
    assert_eq!(parse("").unwrap(), JaasConfig::default());
    assert_eq!(
        parse("// only\n/* comments */").unwrap(),
        JaasConfig::default()
    );
}

#[test]
fn line_breaks() {
    for text in [
        "S {\r\n a required\r\n k=v;\r\n};\r\n",
        "S {\r a required\r k=v;\r};\r",
        "S {\n a required\n k=v;\n};\n",
    ] {
        let c = parse(text).unwrap();
        assert_eq!(c.sections[0].modules[0].line, 2);
        assert_eq!(c.sections[0].modules[0].options, opts(&[("k", "v")]));
    }
    assert_eq!(
        parse("S {\r\n a required\r\n k v;\r\n};"),
        Err(JaasError::Syntax {
            line: 3,
            expected: "'='",
            found: "\"v\"".into()
        })
    );
    // Lines inside block comments and escaped line breaks count.
    assert_eq!(
        parse("/*\n\n*/ S { a required k=\"x\\\ny\"\n k2 };"),
        Err(JaasError::Syntax {
            line: 5,
            expected: "'='",
            found: "'}'".into()
        })
    );
}

#[test]
fn structure_errors() {
    let cases: &[(&str, JaasError)] = &[
        (
            "S a required; };",
            JaasError::Syntax {
                line: 1,
                expected: "'{'",
                found: "\"a\"".into(),
            },
        ),
        (
            "S { a required; }",
            JaasError::Syntax {
                line: 1,
                expected: "';'",
                found: "the end of the file".into(),
            },
        ),
        (
            "S { a required; }; x",
            JaasError::Syntax {
                line: 1,
                expected: "'{'",
                found: "the end of the file".into(),
            },
        ),
        (
            "S {\n a",
            JaasError::Syntax {
                line: 2,
                expected: "a control flag",
                found: "the end of the file".into(),
            },
        ),
        (
            "S { a required k=",
            JaasError::Syntax {
                line: 1,
                expected: "an option value",
                found: "the end of the file".into(),
            },
        ),
        (
            "S { a required k v; };",
            JaasError::Syntax {
                line: 1,
                expected: "'='",
                found: "\"v\"".into(),
            },
        ),
        (
            "S { ; };",
            JaasError::Syntax {
                line: 1,
                expected: "a login module class name",
                found: "';'".into(),
            },
        ),
        (
            "123 { a required; };",
            JaasError::Syntax {
                line: 1,
                expected: "a section name",
                found: Tok::Number.describe(),
            },
        ),
        (
            "Server { a required; };\nServer { b required; };",
            JaasError::DuplicateSection {
                line: 2,
                name: "Server".into(),
            },
        ),
    ];
    for (text, err) in cases {
        assert_eq!(parse(text).as_ref(), Err(err), "{text:?}");
    }
}

#[test]
fn repeated_option_keeps_the_last_value() {
    assert_eq!(
        only_options("S { a required k=\"1\" k=\"2\"; };"),
        opts(&[("k", "2")])
    );
}

#[test]
fn property_expansion() {
    let text = r#"S { a required k="${foo.bar}/x" j="${/}" l="${{foo.bar}}" m="${{x}}" n="${unterminated" o="a${foo.bar}b${foo.bar}" p="${{a}}b" "${foo.bar}"="v" e=""; };"#;
    let c = parse_with_properties(text, &props).unwrap();
    assert_eq!(
        c.sections[0].modules[0].options,
        opts(&[
            ("k", "baz/x"),
            ("j", "/"),
            ("l", "${{foo.bar}}"),
            ("m", "${{x}}"),
            ("n", "${unterminated"),
            ("o", "abazbbaz"),
            ("p", "${{a}}b"),
            ("${foo.bar}", "v"), // keys are not expanded
            ("e", ""),
        ])
    );
    assert_eq!(
        parse_with_properties("S {\n a required k=\"${nope}\"; };", &props),
        Err(JaasError::UndefinedProperty {
            line: 2,
            key: "k".into(),
            property: "nope".into()
        })
    );
    assert_eq!(
        parse_with_properties("S { a required k=\"${empty.prop}\"; };", &props),
        Err(JaasError::ExpandedToEmpty {
            line: 1,
            key: "k".into(),
            value: "${empty.prop}".into()
        })
    );
    assert_eq!(
        only_options("S { a required k=\"x${/}y\"; };"),
        opts(&[("k", "x/y")])
    );
    // Unquoted, `${` is the word `$` and then a '{'.
    assert_eq!(
        parse_with_properties("S { a required k=${foo.bar}; };", &props),
        Err(JaasError::Syntax {
            line: 1,
            expected: "an option name or ';'",
            found: "'{'".into()
        })
    );
    // Without a property source, any property is undefined: a password with `${` in it must avoid that form.
    assert!(matches!(
        parse("S { a required k=\"a${b}c\"; };"),
        Err(JaasError::UndefinedProperty { .. })
    ));
    assert_eq!(
        only_options("S { a required k=\"a$b{c}\"; };"),
        opts(&[("k", "a$b{c}")])
    );
}

#[test]
fn unicode_and_replacement_characters() {
    let c = parse("Сервер { модуль required ключ=\"значение\" user_ü=\"pä\"; };").unwrap();
    assert_eq!(c.sections[0].name, "Сервер");
    assert_eq!(c.sections[0].modules[0].class, "модуль");
    assert_eq!(
        c.sections[0].modules[0].options,
        opts(&[("ключ", "значение"), ("user_ü", "pä")])
    );
    // Java reads the file as UTF-8 with replacement; so does the caller (String::from_utf8_lossy), and U+FFFD is
    // an ordinary word character.
    let text = String::from_utf8_lossy(b"S { a required k=\"caf\xe9\" w=x\xe9; };").into_owned();
    assert_eq!(
        only_options(&text),
        opts(&[("k", "caf\u{FFFD}"), ("w", "x\u{FFFD}")])
    );
}

#[test]
fn error_messages() {
    assert_eq!(
        JaasError::Syntax {
            line: 3,
            expected: "an option value",
            found: "'-'".into()
        }
        .to_string(),
        "JAAS configuration, line 3: expected an option value, found '-'"
    );
    assert_eq!(
        JaasError::NoSection("Server".into()).to_string(),
        "no JAAS configuration section named 'Server' was found (or it has no login module)"
    );
    assert!(JaasError::UnsupportedLoginModule {
        line: 1,
        section: "Server".into(),
        class: "K".into()
    }
    .to_string()
    .contains(DIGEST_LOGIN_MODULE));
}

/// Renders a config the way an operator would write it (values quoted with escapes).
fn render(c: &JaasConfig) -> String {
    let quote = |s: &str| {
        let mut q = String::from("\"");
        for ch in s.chars() {
            match ch {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\r' => q.push_str("\\r"),
                c => q.push(c),
            }
        }
        q.push('"');
        q
    };
    let mut out = String::new();
    for s in &c.sections {
        out.push_str(&format!("{} {{\n", quote(&s.name)));
        for m in &s.modules {
            let flag = format!("{:?}", m.flag).to_lowercase();
            out.push_str(&format!("  {} {flag}", quote(&m.class)));
            for (k, v) in &m.options {
                out.push_str(&format!("\n    {}={}", quote(k), quote(v)));
            }
            out.push_str(";\n");
        }
        out.push_str("};\n");
    }
    out
}

fn arb_config() -> impl Strategy<Value = JaasConfig> {
    let text = "[^${}]{0,8}"; // `${` would be expanded
    let module = (
        text,
        0..4usize,
        proptest::collection::btree_map(text, text, 0..4),
    )
        .prop_map(|(class, f, options)| {
            let flag = [
                ControlFlag::Required,
                ControlFlag::Requisite,
                ControlFlag::Sufficient,
                ControlFlag::Optional,
            ][f];
            LoginModule {
                class,
                flag,
                options,
                line: 0,
            }
        });
    proptest::collection::btree_map(text, proptest::collection::vec(module, 0..3), 0..4).prop_map(
        |sections| JaasConfig {
            sections: sections
                .into_iter()
                .map(|(name, modules)| JaasSection {
                    name,
                    line: 0,
                    modules,
                })
                .collect(),
        },
    )
}

fn without_lines(mut c: JaasConfig) -> JaasConfig {
    for s in &mut c.sections {
        s.line = 0;
        for m in &mut s.modules {
            m.line = 0;
        }
    }
    c
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
        let _ = parse_with_properties(&text, &props);
    }

    #[test]
    fn arbitrary_tokens_never_panic(tokens in proptest::collection::vec(prop::sample::select(vec![
        "Server", "{", "}", ";", "=", " ", "\n", "\r", "\"", "'", "\\", "/", "*", "-", ".", "1", "required", "k", "${",
        "}}", "${/}", "\u{FFFD}", "\u{85}", "\t", "user_bob", "\"pw\"", "/*", "*/", "//",
    ]), 0..40)) {
        let text: String = tokens.concat();
        let _ = parse(&text);
        let _ = parse_with_properties(&text, &props);
    }

    #[test]
    fn rendered_configs_parse_back(c in arb_config()) {
        // Values with line breaks or controls are fine quoted; the parser must give back what was rendered.
        let text = render(&c);
        prop_assert_eq!(without_lines(parse(&text).unwrap()), c);
    }
}
