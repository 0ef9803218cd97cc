//! TLS for HTTPS measurement: a certificate verifier that records its verdict instead of
//! aborting the handshake, and what the handshake negotiated.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// What a TLS handshake negotiated and what the server presented.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsInfo {
    /// The protocol version (0x0303 TLS 1.2, 0x0304 TLS 1.3), 0 if the handshake failed
    /// before it was chosen.
    pub version: u16,
    /// The cipher suite number, 0 if none was chosen.
    pub cipher: u16,
    /// The cipher suite's IANA name, if known.
    pub cipher_name: Option<String>,
    /// The ALPN protocol the server chose (`h2`, `http/1.1`).
    pub alpn: Option<Vec<u8>>,
    /// The certificate chain as the server sent it (DER, leaf first).
    pub certs: Vec<Vec<u8>>,
    /// Why the chain did not verify for the URL's host against the trust roots; `None` when
    /// it verified (or was never presented).
    pub verify_error: Option<String>,
    /// Whether the chain was checked at all (a handshake that failed before the server's
    /// certificate arrived did not check it).
    pub verified: bool,
}

impl TlsInfo {
    /// The model's record of this session (`None` when the handshake never got as far as
    /// a version or a certificate).
    pub fn to_model(&self) -> Option<vantage_model::HttpTls> {
        (self.version != 0 || !self.certs.is_empty()).then(|| vantage_model::HttpTls {
            version: self.version,
            cipher: self.cipher,
            alpn: self.alpn.clone(),
            certs: self.certs.clone(),
            verify_error: self.verify_error.clone(),
        })
    }

    /// `TLSv1.2`, `TLSv1.3`, ...
    pub fn version_name(&self) -> Option<&'static str> {
        match self.version {
            0x0301 => Some("TLSv1.0"),
            0x0302 => Some("TLSv1.1"),
            0x0303 => Some("TLSv1.2"),
            0x0304 => Some("TLSv1.3"),
            _ => None,
        }
    }
}

/// Verifies like rustls' WebPKI verifier, records the chain and the verdict, and lets the
/// handshake go on whatever the verdict (signatures are still checked: a server that cannot
/// prove it holds the key fails the handshake).
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    /// `None` when there are no trust roots: every chain is then "not verified".
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<TlsInfo>>,
}

impl RecordingVerifier {
    pub(crate) fn new(
        roots: Arc<rustls::RootCertStore>,
        provider: Arc<CryptoProvider>,
        seen: Arc<Mutex<TlsInfo>>,
    ) -> Result<Self, String> {
        let inner = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| format!("cannot set up certificate verification: {e}"))?,
            )
        };
        Ok(Self {
            inner,
            provider,
            seen,
        })
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("no trust anchors are configured".to_owned()),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.certs = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        seen.verified = true;
        seen.verify_error = verdict.err();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration offering `alpn`, recording the server's chain and the verdict
/// into `seen` with a [`RecordingVerifier`].
pub(crate) fn client_config(
    roots: Arc<rustls::RootCertStore>,
    alpn: &[Vec<u8>],
    seen: Arc<Mutex<TlsInfo>>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = RecordingVerifier::new(roots, provider.clone(), seen)?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(cfg))
}

/// Fills the negotiated parameters of a finished handshake into `info`.
pub(crate) fn negotiated(conn: &rustls::ClientConnection, info: &mut TlsInfo) {
    if let Some(v) = conn.protocol_version() {
        info.version = u16::from(v);
    }
    if let Some(s) = conn.negotiated_cipher_suite() {
        let cs = s.suite();
        info.cipher = u16::from(cs);
        info.cipher_name = cs.as_str().map(str::to_owned);
    }
    info.alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
    if info.certs.is_empty()
        && let Some(certs) = conn.peer_certificates()
    {
        info.certs = certs.iter().map(|c| c.as_ref().to_vec()).collect();
    }
}
