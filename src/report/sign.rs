//! Report signatures: the service signs the digest of a report under a context of its own,
//! `gatekeep-report-v1`, so a report signature can never be taken for a grant (grants sign
//! canonical JSON, which starts with `{`) or the other way round.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Report;

/// The signing context, the first line of every signed message.
pub const CONTEXT: &str = "gatekeep-report-v1";

/// The service's signature of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub context: String,
    /// SHA-256 (hex) of the canonical JSON of the report without its signature.
    pub digest: String,
    pub signature: String,
    /// SHA-256 (hex) of the signing public key.
    pub key_id: String,
    /// The identity that asked for it.
    pub signed_by: String,
    pub signed_at: String,
}

/// The bytes the service signs for `digest`.
pub fn message(digest: &str) -> Vec<u8> {
    format!("{CONTEXT}\n{digest}").into_bytes()
}

/// The digest of `report` as signed: its canonical JSON without the signature.
pub fn digest(report: &Report) -> String {
    let mut unsigned = report.clone();
    unsigned.signature = None;
    let value = serde_json::to_value(&unsigned).expect("a report serialises");
    hex::encode(Sha256::digest(
        crate::approval::canonical_json(&value).as_bytes(),
    ))
}

/// Why a report's signature does not hold, if it does not: no signature, a report
/// changed after it was signed (its digest recomputed or not), another key, another
/// context.
pub fn verify(report: &Report, public_hex: &str) -> Result<(), String> {
    let Some(signature) = &report.signature else {
        return Err("the report is not signed".into());
    };
    if signature.context != CONTEXT {
        return Err(format!(
            "the signature is for {}, not a report",
            signature.context
        ));
    }
    let digest = digest(report);
    if digest != signature.digest {
        return Err("the report was changed after it was signed (its digest differs)".into());
    }
    if !crate::approval::verify_message(
        public_hex,
        &message(&signature.digest),
        &signature.signature,
    ) {
        return Err(
            "the signature does not verify with the service's key: the report or its digest was changed, or another key signed it"
                .into(),
        );
    }
    Ok(())
}
