//! The Normalize Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let sdk = vending_runtime::sdk_config();
    let config = &vending_runtime::load_config(&sdk).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        normalize::handle(&event.payload, config).map_err(vending_runtime::diagnostic)
    }))
    .await
}
