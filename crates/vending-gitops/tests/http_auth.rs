//! The git destination over smart HTTP with basic authentication (`git http-backend` behind
//! a small server of the test's own): the secret's credentials are sent, a remote that
//! refuses them fails the hand-off with a clear error instead of hanging.

mod support;

use support::{bundle, password, serve, writer};
use vending_domain::ports::{ManifestDestination, Publication};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_credentials_are_sent_and_a_refusal_is_an_error() {
    let server = serve(None);
    let (good, _c1) = writer(&server, password("s3cret"));
    let landed = good
        .publish(&bundle())
        .await
        .expect("pushed with the credentials");
    assert!(matches!(landed, Publication::Written { .. }), "{landed:?}");
    let again = good.publish(&bundle()).await.expect("re-run");
    assert!(matches!(again, Publication::Unchanged { .. }), "{again:?}");

    // Wrong or missing credentials: a clear error that retrying cannot fix (not Unavailable,
    // which the workflow would retry).
    let (wrong, _c2) = writer(&server, password("guess"));
    let err = wrong.publish(&bundle()).await.expect_err("refused");
    assert_eq!(err.error_type(), "Internal", "{err}");
    assert!(err.to_string().contains("refused the credentials"), "{err}");

    let (none, _c3) = writer(&server, None);
    let err = none.publish(&bundle()).await.expect_err("refused");
    assert_eq!(err.error_type(), "Internal", "{err}");
    assert!(err.to_string().contains("does not provide"), "{err}");
}
