//! Arbitrary recorded values always serialise to JSON with finite numbers and round-trip.
#![no_main]

use reqtrack::fuzzing::JsonCodec;
use serde::Serialize;
use serde::de::DeserializeOwned;

struct SerdeJson;

impl JsonCodec for SerdeJson {
    fn to_json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("serialisable")
    }
    fn from_json<T: DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("parses back")
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| reqtrack::fuzzing::json::<SerdeJson>(data));
