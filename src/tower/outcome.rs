//! The outcome a response's status means, when the handler declared none.

use crate::{ErrorType, Outcome};
use http::StatusCode;

/// The layer's default outcome for a response status:
///
/// | status | outcome |
/// |---|---|
/// | 1xx, 2xx, 3xx | success |
/// | 400, 413, 422 and any other 4xx not below | `validation` |
/// | 404 | `not_found` |
/// | 429 | `overload` |
/// | 499 (a client closed the request) | `cancelled` |
/// | 501 | `not_implemented` |
/// | 503 | `unavailable` |
/// | 504 | `response_timeout` |
/// | 529 (overloaded) | `overload` |
/// | any other 5xx | `internal` |
///
/// Replace it per layer with [`TrackLayer::outcome_from_status`](super::TrackLayer::outcome_from_status).
pub fn outcome_from_status(status: StatusCode) -> Outcome {
    let error = match status.as_u16() {
        ..=399 => return Outcome::Success,
        404 => ErrorType::NotFound,
        429 | 529 => ErrorType::Overload,
        499 => ErrorType::Cancelled,
        501 => ErrorType::NotImplemented,
        503 => ErrorType::Unavailable,
        504 => ErrorType::ResponseTimeout,
        400..=499 => ErrorType::Validation,
        _ => ErrorType::Internal,
    };
    Outcome::Error(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table() {
        let of = |s: u16| outcome_from_status(StatusCode::from_u16(s).unwrap());
        let e = Outcome::Error;
        assert_eq!(of(200), Outcome::Success);
        assert_eq!(of(304), Outcome::Success);
        for s in [400, 413, 422, 401, 405] {
            assert_eq!(of(s), e(ErrorType::Validation), "{s}");
        }
        assert_eq!(of(404), e(ErrorType::NotFound));
        assert_eq!(of(429), e(ErrorType::Overload));
        assert_eq!(of(529), e(ErrorType::Overload));
        assert_eq!(of(499), e(ErrorType::Cancelled));
        assert_eq!(of(501), e(ErrorType::NotImplemented));
        assert_eq!(of(503), e(ErrorType::Unavailable));
        assert_eq!(of(504), e(ErrorType::ResponseTimeout));
        assert_eq!(of(500), e(ErrorType::Internal));
        assert_eq!(of(502), e(ErrorType::Internal));
    }
}
