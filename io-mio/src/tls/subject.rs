//! A certificate's subject as ZooKeeper names it: `X509Certificate.getSubjectX500Principal().getName()`,
//! Java's RFC 2253 form. The x509 ACL id of a client is this string, so it must match Java's byte for byte,
//! or ACLs written on ZooKeeper (`x509:CN=app,OU=ops,O=Example`) would not match on rzk.
//!
//! Java's rules (sun.security.x509.AVA / RDN / X500Name): RDNs last-first, joined by `,` (no spaces); the
//! attributes of a multi-valued RDN joined by `+` in their encoded order; only CN, C, L, ST, O, OU, STREET,
//! DC and UID are named, other attributes are written as their dotted OID with `#` and the hex of the
//! value's DER encoding (lowercase); string values escape `,=+<>#;"\` with a backslash, NUL as `\00`, and
//! leading and trailing spaces (and CRs) with a backslash.

use x509_parser::der_parser::asn1_rs::{Any, Tag, ToDer};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The RFC 2253 subject of a DER certificate, or why it cannot be read.
pub fn subject_rfc2253(cert_der: &[u8]) -> Result<String, String> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| format!("bad certificate: {e}"))?;
    let rdns: Vec<String> = cert
        .subject()
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| attribute(&ava.attr_type().to_id_string(), ava.attr_value()))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Ok(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// The RFC 2253 keyword of an attribute type Java names, by dotted OID.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn attribute(oid: &str, value: &Any) -> String {
    match (keyword(oid), string_value(value)) {
        (Some(name), Some(text)) => format!("{name}={}", escape(&text)),
        (name, _) => format!("{}=#{}", name.unwrap_or(oid), der_hex(value)),
    }
}

/// The text of a value Java's RFC 2253 output writes as a string (its non-canonical DER string types).
fn string_value(value: &Any) -> Option<String> {
    let data = value.data;
    match value.tag() {
        Tag::PrintableString | Tag::Ia5String | Tag::Utf8String | Tag::GeneralString => {
            std::str::from_utf8(data).ok().map(str::to_string)
        }
        // T61 (TeletexString): Java reads it as ISO-8859-1.
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn escape(text: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut escaped: Vec<(char, bool)> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' {
            escaped.extend([('\\', false), ('0', false), ('0', false)]);
        } else {
            if ESCAPEES.contains(c) {
                escaped.push(('\\', false));
            }
            escaped.push((c, true));
        }
    }
    // Leading and trailing spaces (and CRs) get a backslash too.
    let blank = |&(c, _): &(char, bool)| c == ' ' || c == '\r';
    let lead = escaped.iter().take_while(|e| blank(e)).count();
    let trail = escaped.iter().rev().take_while(|e| blank(e)).count();
    let len = escaped.len();
    let mut out = String::with_capacity(len + 4);
    for (i, (c, _)) in escaped.into_iter().enumerate() {
        if i < lead || (lead < len && i >= len - trail) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn der_hex(value: &Any) -> String {
    let der = value.to_der_vec().unwrap_or_default();
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    fn subject_of(pem: &str) -> String {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        subject_rfc2253(&der).unwrap()
    }

    /// The expected strings were printed by Java 17's `getSubjectX500Principal().getName()` for these files
    /// (made with openssl): unnamed attributes as `OID=#hex`, every escape rule, a multi-valued RDN,
    /// UTF-8, DC and STREET.
    #[test]
    fn subjects_are_named_as_java_names_them() {
        let expected = include_str!("testdata/tricky-subject.java-name.txt").trim_end_matches('\n');
        assert_eq!(
            subject_of(include_str!("testdata/tricky-subject.pem")),
            expected
        );
        assert_eq!(
            subject_of(include_str!("testdata/client.pem")),
            "CN=client,OU=test,O=rzk"
        );
    }

    #[test]
    fn escapes_follow_rfc_2253_as_java_writes_it() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape(" a,b "), "\\ a\\,b\\ ");
        assert_eq!(escape("#x=y+z<>;\"\\"), "\\#x\\=y\\+z\\<\\>\\;\\\"\\\\");
        assert_eq!(escape("  "), "\\ \\ ");
        assert_eq!(escape("a\0b"), "a\\00b");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(subject_rfc2253(b"not a certificate").is_err());
        assert!(subject_rfc2253(&[]).is_err());
    }
}
