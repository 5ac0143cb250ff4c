//! What the suites over Socket.IO (`socketio` and the chat apps `sockets`, `chatpot`, `circles`) share: the endpoint of a target section for one Engine.IO version.

use protocols::engineio::EioVersion;

use crate::case::Failure;
use crate::driver::engineio::Endpoint;

/// The endpoint at `url` and `path` for Engine.IO `version`, or
/// `unimplemented` when the target's `engineio` list leaves it out.
pub(crate) fn endpoint(
    protocol: &str,
    url: &str,
    path: &str,
    engineio: &[u8],
    version: EioVersion,
) -> Result<Endpoint, Failure> {
    if !engineio.contains(&version.query_value()) {
        return Err(Failure::Unimplemented(format!(
            "the {protocol} target is configured without Engine.IO {}",
            version.query_value()
        )));
    }
    Ok(Endpoint {
        base: url.to_owned(),
        path: path.to_owned(),
        version,
    })
}
