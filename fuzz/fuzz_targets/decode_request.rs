//! Fuzzes the server's decoding of client frames (`decode_request`), which
//! sees every byte an unauthenticated stranger sends. Properties: it never
//! panics, and whatever decodes re-encodes to a frame that decodes to the
//! same request (so the server and clients agree on every accepted frame).

#![no_main]

use heartlink_protocol::{decode_request, encode_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the time they reach the decoder: tungstenite
    // closes with 1007 otherwise.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(request) = decode_request(text) else { return };
    let encoded = encode_request(&request.msg, request.reference.as_ref());
    match decode_request(&encoded) {
        Ok(again) => assert_eq!(again, request, "re-decoding {encoded} (from {text:?}) changed the request"),
        Err(err) => panic!("{encoded} (re-encoded from {text:?}) does not decode: {err}"),
    }
});
