//! HTTPS for the twin: a throwaway CA made at start-up signs a certificate for
//! 127.0.0.1, ::1 and localhost. Clients trust the twin by its CA file (`cacert`), so
//! both a correct setup and a missing `cacert` can be exercised for real.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A server identity and the CA that vouches for it.
#[derive(Clone)]
pub struct TlsIdentity {
    /// PEM of the CA certificate: what a client's `cacert` must hold.
    pub ca_pem: String,
    /// The rustls server configuration.
    pub config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Makes a new CA and a loopback server certificate signed by it.
    pub fn generate() -> Result<TlsIdentity, String> {
        let e = |e: rcgen::Error| e.to_string();
        let ca_key = KeyPair::generate().map_err(e)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "juju-capi-restore twin CA");
        let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().map_err(e)?;
        let mut leaf_params = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "localhost".to_string(),
        ])
        .map_err(e)?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "juju-capi-restore twin");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(e)?;

        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            ca_pem: ca_cert.pem(),
            config: Arc::new(config),
        })
    }
}
