//! Any bytes as an audit log segment: verification reports a break or a clean chain, never
//! panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gatekeep::audit::verify_segment(data);
});
