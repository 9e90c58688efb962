//! Fuzzes the clients' decoding of server frames (`decode_server`): a client
//! must survive a buggy or hostile server. Properties: it never panics, and
//! whatever decodes re-encodes to a frame that decodes to the same value.

#![no_main]

use heartlink_protocol::{RequestRef, decode_server, encode_server};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(frame) = decode_server(text) else { return };
    // A client accepts any `ref` string from a server, but the encoder only
    // writes refs a request could have carried (at most 64 characters).
    let reference = frame.reference.clone().and_then(|r| RequestRef::try_from(r).ok());
    let encoded = encode_server(&frame.msg, reference.as_ref());
    match decode_server(&encoded) {
        Ok(again) => {
            assert_eq!(again.msg, frame.msg, "re-decoding {encoded} (from {text:?}) changed the message");
            assert_eq!(again.reference, reference.map(String::from), "the ref did not survive {encoded}");
        }
        Err(err) => panic!("{encoded} (re-encoded from {text:?}) does not decode: {err}"),
    }
});
