//! A TLS terminator in front of the counting proxy, so that a cold start's first request pays
//! the TLS handshake it pays in AWS. Its certificate authority is made at start and lives in
//! one file, which only the benchmark's function processes are told to trust
//! (`TRUSTED_CA_FILE`); nothing else on the machine trusts it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub struct TlsTerminator {
    address: SocketAddr,
    ca_file: PathBuf,
}

impl TlsTerminator {
    /// Terminates TLS on a free loopback port and relays the plain bytes to `upstream`; the
    /// authority's certificate is written to `dir`.
    pub fn start(upstream: SocketAddr, dir: &Path) -> Result<Self, String> {
        let (ca_pem, chain, key) = certificates().map_err(|e| format!("certificates: {e}"))?;
        let ca_file = dir.join("benchmark-ca.pem");
        std::fs::write(&ca_file, ca_pem).map_err(|e| format!("{}: {e}", ca_file.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| format!("TLS server: {e}"))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        super::on_its_own_runtime(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = server.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
        Ok(Self { address, ca_file })
    }

    /// The endpoint the functions get as `DYNAMODB_ENDPOINT` (the certificate names the IP).
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.address)
    }

    /// The PEM file the functions get as `TRUSTED_CA_FILE`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

type Chain = Vec<CertificateDer<'static>>;

/// A certificate authority, and a server certificate for 127.0.0.1 and localhost that it
/// signed: the authority's PEM, the server's chain and key.
fn certificates() -> Result<(String, Chain, PrivateKeyDer<'static>), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    ca.distinguished_name
        .push(DnType::CommonName, "account functions benchmark CA");
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate()?;
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?
        .signed_by(&server_key, &issuer)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Ok((ca_cert.pem(), vec![server.der().clone()], key))
}
