//! The names a certificate is valid for: its subjectAltName IP addresses and DNS names, or, without any,
//! its common name (what ZooKeeper's ZKTrustManager checks a peer's address against).

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// (IP addresses, DNS names, lowercased) the certificate names.
pub fn certificate_names(cert_der: &[u8]) -> Result<(Vec<IpAddr>, Vec<String>), String> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| format!("bad certificate: {e}"))?;
    let mut ips = Vec::new();
    let mut dns = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_ascii_lowercase()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => ips.push(IpAddr::from(
                        <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    16 => ips.push(IpAddr::from(
                        <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if ips.is_empty() && dns.is_empty() {
        dns.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    Ok((ips, dns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn subject_alt_names_are_read() {
        let pem = include_str!("testdata/server.pem");
        let der = CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let (ips, dns) = certificate_names(&der).unwrap();
        assert_eq!(ips, vec![IpAddr::from([127, 0, 0, 1])]);
        assert_eq!(dns, vec!["localhost".to_string()]);
        // No SAN: the common name.
        let client =
            CertificateDer::from_pem_slice(include_str!("testdata/client.pem").as_bytes()).unwrap();
        assert_eq!(
            certificate_names(&client).unwrap(),
            (vec![], vec!["client".to_string()])
        );
        assert!(certificate_names(b"junk").is_err());
    }
}
