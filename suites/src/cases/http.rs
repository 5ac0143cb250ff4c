//! What cases of every protocol share for a target's own HTTP API: one templated request, recorded in the transcript and never mutated.

use crate::case::{Ctx, Failure};
use crate::target::HttpTemplate;
use crate::wire::{http_client, Link};

/// Sends one of the target's own HTTP requests (provisioning, a trigger):
/// recorded, never mutated (the suite's own setup, not a message under test).
pub(crate) async fn harness_request(
    ctx: &Ctx,
    template: &HttpTemplate,
    values: &[(&str, &str)],
    body: Option<String>,
) -> Result<Vec<u8>, Failure> {
    let link = Link {
        mutator: None,
        ..Link::from(ctx)
    };
    let wire = link.open("HTTP to the target's API");
    let method = reqwest::Method::from_bytes(template.method.as_bytes())
        .map_err(|e| Failure::Harness(e.to_string()))?;
    let headers: Vec<(String, String)> = template
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let url = HttpTemplate::fill(&template.url, values);
    let reply = wire
        .request_with(
            &http_client(),
            method,
            &url,
            &headers,
            body.map(|b| ("application/json", b.into_bytes())),
        )
        .await
        .map_err(|e| Failure::Harness(e.reason().to_owned()))?;
    if !(200..300).contains(&reply.status) {
        return Err(Failure::Harness(format!(
            "{url} answered HTTP {}: {}",
            reply.status,
            reply.text()
        )));
    }
    Ok(reply.body)
}
