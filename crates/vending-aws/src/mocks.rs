//! The SDK clients of the adapters' unit tests, answered by `aws_smithy_mocks` rules.
//!
//! `aws_smithy_mocks::mock_client!` configures the client with the service crate's
//! `with_test_defaults_v2`, which exists only under the crate's `test-util` feature. That
//! feature (and the `aws-smithy-runtime` test utilities it turns on, with a legacy hyper 0.14
//! stack) changes the feature set of every SDK crate in the workspace's test build, so that
//! `make test` compiled every SDK crate a second time after `make demo` had built them for
//! `vend`. This macro builds the same client from the public builder methods instead: a fixed
//! region and static credentials, the mock HTTP client and the rules' interceptor.

/// A `$sdk::Client` whose calls are answered by `$rules` in `$mode`
/// (`aws_smithy_mocks::RuleMode`), never by the network.
macro_rules! mock_client {
    ($sdk:ident, $mode:expr, $rules:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider(aws_credential_types::Credentials::new(
                    "AKIDTEST", "secret", None, None, "mocks",
                ))
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}
