//! The git destination over HTTPS: libgit2 has no TLS of its own here, so a push that lands on
//! an HTTPS server proves the writer's transport (the SDK's rustls client) carried it, and
//! that the transport trusts what `SSL_CERT_FILE` names (how a private CA is trusted).

mod support;

use support::{bundle, password, serve, writer};
use vending_domain::ports::{ManifestDestination, Publication};

#[test]
fn a_hand_off_lands_over_https_with_the_certificate_trusted_through_ssl_cert_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("a cert");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, issued.cert.pem()).expect("write the cert");
    std::fs::write(&key, issued.signing_key.serialize_pem()).expect("write the key");
    // Before any other thread exists (this is the binary's only test, and its runtime is
    // built below): the process-wide environment is read once, at the first connection.
    #[allow(unsafe_code)]
    // SAFETY: no other thread runs yet, so none reads the environment meanwhile.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &cert);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = serve(Some((&cert, &key)));
    assert!(server.url.starts_with("https://"), "{}", server.url);
    runtime.block_on(async {
        let (good, _cache) = writer(&server, password("s3cret"));
        let landed = good.publish(&bundle()).await.expect("pushed over https");
        assert!(matches!(landed, Publication::Written { .. }), "{landed:?}");
        let again = good.publish(&bundle()).await.expect("fetched over https");
        assert!(matches!(again, Publication::Unchanged { .. }), "{again:?}");

        let (wrong, _cache) = writer(&server, password("guess"));
        let err = wrong.publish(&bundle()).await.expect_err("refused");
        assert_eq!(err.error_type(), "Internal", "{err}");
        assert!(err.to_string().contains("refused the credentials"), "{err}");
    });
}
