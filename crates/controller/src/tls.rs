//! TLS for VP links: the server configuration (rustls with the ring provider)
//! and the check that a VP's client certificate names its monitor name.

use crate::config::TlsFiles;
use crate::error::Error;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

fn tls_err(what: &'static str, path: &Path, why: impl fmt::Display) -> Error {
    Error::Tls {
        what,
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

fn load_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(what, path, e))?;
    if certs.is_empty() {
        return Err(tls_err(what, path, "no CERTIFICATE block in the file"));
    }
    Ok(certs)
}

/// Builds the TLS server configuration from the PEM files.
pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, Error> {
    let certs = load_certs("certificate", &files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| tls_err("private key", &files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("certificate", &files.cert, e))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in load_certs("client CA", ca)? {
                roots.add(c).map_err(|e| tls_err("client CA", ca, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls_err("client CA", ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_err("certificate/key pair", &files.cert, e))?;
    Ok(Arc::new(cfg))
}

/// The names a VP's client certificate carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CertNames {
    /// subjectAltName DNS entries.
    pub(crate) dns: Vec<String>,
    /// Subject common names.
    pub(crate) cn: Vec<String>,
}

impl CertNames {
    /// Reads the names from a DER certificate (already verified by rustls).
    pub(crate) fn from_der(der: &[u8]) -> Self {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return Self::default();
        };
        let mut names = Self::default();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for gn in &san.value.general_names {
                if let GeneralName::DNSName(n) = gn {
                    names.dns.push((*n).to_owned());
                }
            }
        }
        names.cn = cert
            .subject()
            .iter_common_name()
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect();
        names
    }

    /// The names that count: the DNS subjectAltNames, or the common names when
    /// there are none (as scamper and sc_remoted match).
    pub(crate) fn effective(&self) -> &[String] {
        if self.dns.is_empty() {
            &self.cn
        } else {
            &self.dns
        }
    }

    /// Whether the certificate names `name`.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.effective().iter().any(|p| name_matches(p, name))
    }
}

impl fmt::Display for CertNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.effective();
        if names.is_empty() {
            return f.write_str("no name");
        }
        f.write_str(&names.join(", "))
    }
}

/// Case-insensitive name comparison; a leading `*.` matches exactly one extra
/// leftmost label.
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(name_matches("vp1.example", "VP1.example"));
        assert!(name_matches("*.example", "vp1.example"));
        assert!(!name_matches("*.example", "a.vp1.example"));
        assert!(!name_matches("*.example", "example"));
        assert!(!name_matches("*.example", ".example"));
        assert!(!name_matches("vp1.example", "vp2.example"));
    }

    #[test]
    fn san_wins_over_cn() {
        let n = CertNames {
            dns: vec!["a".into()],
            cn: vec!["b".into()],
        };
        assert!(n.matches("a"));
        assert!(!n.matches("b"));
        let n = CertNames {
            dns: vec![],
            cn: vec!["b".into()],
        };
        assert!(n.matches("b"));
        assert_eq!(CertNames::default().to_string(), "no name");
    }

    #[test]
    fn garbage_der_has_no_names() {
        assert_eq!(CertNames::from_der(b"\x30\x03abc"), CertNames::default());
    }
}
