//! Grants: Ed25519-signed statements that a request was approved, binding the command digest.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::canonical_json;
use crate::policy::ApprovalRequirement;

/// One approval requirement and who met it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfiedApproval {
    pub rule: String,
    pub approvers: Vec<String>,
    pub quorum: u32,
    pub approved_by: Vec<String>,
}

/// What the service signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantPayload {
    pub request_id: String,
    pub digest: String,
    pub requester: String,
    pub approvals: Vec<SatisfiedApproval>,
    pub issued_at: String,
    pub expires_at: String,
    pub nonce: String,
    /// The window the grant was issued under, when it was (the window's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Issued without approvals, for a person breaking glass; reviewed afterwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
}

/// A signed grant: the payload and an Ed25519 signature (lowercase hex) over its canonical
/// JSON encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub payload: GrantPayload,
    pub signature: String,
    /// SHA-256 (hex) of the signing public key, to tell keys apart.
    pub key_id: String,
}

/// Why a grant is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("the grant's signature does not verify with the pinned service key")]
    BadSignature,
    #[error("the grant is for another command (digest {granted}, this command {wanted})")]
    WrongCommand { granted: String, wanted: String },
    #[error("the grant is for request {granted}, not {wanted}")]
    WrongRequest { granted: String, wanted: String },
    #[error("the grant does not satisfy this command's approval requirement for rule {rule}")]
    Weaker { rule: String },
}

fn payload_bytes(payload: &GrantPayload) -> Vec<u8> {
    canonical_json(&serde_json::to_value(payload).expect("payload serialises")).into_bytes()
}

/// A service signing key.
pub struct KeyPair {
    signing: SigningKey,
}

impl KeyPair {
    /// A fresh random key.
    pub fn generate() -> std::io::Result<KeyPair> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(std::io::Error::other)?;
        Ok(KeyPair {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    pub fn from_seed(seed: [u8; 32]) -> KeyPair {
        KeyPair {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key, lowercase hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    /// SHA-256 of the public key, lowercase hex.
    pub fn key_id(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(
            self.signing.verifying_key().to_bytes(),
        ))
    }

    /// A signature (hex) over `message`. Only for messages that can never be taken for a
    /// grant's payload: grants sign canonical JSON, which starts with `{`.
    pub fn sign_message(&self, message: &[u8]) -> String {
        assert!(message.first() != Some(&b'{'), "never a grant's payload");
        hex::encode(self.signing.sign(message).to_bytes())
    }

    pub fn sign(&self, payload: GrantPayload) -> Grant {
        let signature = self.signing.sign(&payload_bytes(&payload));
        Grant {
            payload,
            signature: hex::encode(signature.to_bytes()),
            key_id: self.key_id(),
        }
    }
}

/// Whether `signature_hex` is the signature of `message` by the key `public_hex`.
pub fn verify_message(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let Some(key) = hex::decode(public_hex)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
    else {
        return false;
    };
    let Some(signature) = hex::decode(signature_hex)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify(message, &Signature::from_bytes(&signature))
        .is_ok()
}

/// Checks a grant against the pinned public key, the request, the command's digest, and the
/// requirements the client computed itself (the grant must meet each of them).
pub fn verify_grant(
    grant: &Grant,
    public_hex: &str,
    request_id: &str,
    digest: &str,
    required: &[ApprovalRequirement],
) -> Result<(), GrantError> {
    let key_bytes: [u8; 32] = hex::decode(public_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GrantError::BadSignature)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| GrantError::BadSignature)?;
    let signature_bytes: [u8; 64] = hex::decode(&grant.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GrantError::BadSignature)?;
    key.verify(
        &payload_bytes(&grant.payload),
        &Signature::from_bytes(&signature_bytes),
    )
    .map_err(|_| GrantError::BadSignature)?;
    if grant.payload.request_id != request_id {
        return Err(GrantError::WrongRequest {
            granted: grant.payload.request_id.clone(),
            wanted: request_id.to_owned(),
        });
    }
    if grant.payload.digest != digest {
        return Err(GrantError::WrongCommand {
            granted: grant.payload.digest.clone(),
            wanted: digest.to_owned(),
        });
    }
    for requirement in required {
        // Escalation may have let more approvers in, as the rule itself says.
        let allowed = |approver: &String| {
            requirement.approvers.contains(approver)
                || requirement
                    .workflow
                    .escalate
                    .iter()
                    .any(|step| step.add_approvers.contains(approver))
        };
        let counted = |s: &SatisfiedApproval| {
            if grant.payload.break_glass {
                requirement.workflow.break_glass
            } else {
                s.approved_by.len() >= requirement.quorum as usize
            }
        };
        let met = grant.payload.approvals.iter().any(|s| {
            s.rule == requirement.rule
                && s.quorum >= requirement.quorum
                && counted(s)
                && requirement
                    .approvers
                    .iter()
                    .all(|a| s.approvers.contains(a))
                && s.approvers.iter().all(allowed)
        });
        if !met {
            return Err(GrantError::Weaker {
                rule: requirement.rule.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> GrantPayload {
        GrantPayload {
            request_id: "r1".into(),
            digest: "d1".into(),
            requester: "alice".into(),
            approvals: vec![SatisfiedApproval {
                rule: "x".into(),
                approvers: vec!["group:dba".into()],
                quorum: 2,
                approved_by: vec!["bob".into(), "carol".into()],
            }],
            issued_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-01T00:15:00Z".into(),
            nonce: "n".into(),
            window: None,
            break_glass: false,
        }
    }

    #[test]
    fn signed_grants_verify_and_tampering_is_caught() {
        let key = KeyPair::from_seed([7; 32]);
        let need = vec![ApprovalRequirement {
            rule: "x".into(),
            approvers: vec!["group:dba".into()],
            quorum: 2,
            ..Default::default()
        }];
        let grant = key.sign(payload());
        assert_eq!(
            verify_grant(&grant, &key.public_hex(), "r1", "d1", &need),
            Ok(())
        );
        let mut forged = grant.clone();
        forged.payload.digest = "d2".into();
        assert_eq!(
            verify_grant(&forged, &key.public_hex(), "r1", "d2", &need),
            Err(GrantError::BadSignature)
        );
        assert!(matches!(
            verify_grant(&grant, &key.public_hex(), "r1", "other", &need),
            Err(GrantError::WrongCommand { .. })
        ));
        let other = KeyPair::from_seed([8; 32]);
        assert_eq!(
            verify_grant(&grant, &other.public_hex(), "r1", "d1", &need),
            Err(GrantError::BadSignature)
        );
        let stricter = vec![ApprovalRequirement {
            rule: "x".into(),
            approvers: vec!["group:dba".into()],
            quorum: 3,
            ..Default::default()
        }];
        assert!(matches!(
            verify_grant(&grant, &key.public_hex(), "r1", "d1", &stricter),
            Err(GrantError::Weaker { .. })
        ));
    }

    /// The service adds requirements of its own (`server:`, `secret:`); they never stand in
    /// for the client's, and their presence does not disturb the client's check.
    #[test]
    fn the_services_requirements_neither_break_nor_replace_the_clients() {
        let key = KeyPair::from_seed([7; 32]);
        let mut both = payload();
        both.approvals.push(SatisfiedApproval {
            rule: "server:x".into(),
            approvers: vec!["group:dba".into()],
            quorum: 2,
            approved_by: vec!["bob".into(), "carol".into()],
        });
        let mine = vec![ApprovalRequirement {
            rule: "x".into(),
            approvers: vec!["group:dba".into()],
            quorum: 2,
            ..Default::default()
        }];
        let grant = key.sign(both);
        assert_eq!(
            verify_grant(&grant, &key.public_hex(), "r1", "d1", &mine),
            Ok(())
        );
        // Only the service's requirement is in the grant: the client's own is missing.
        let mut only_server = payload();
        only_server.approvals = vec![SatisfiedApproval {
            rule: "server:x".into(),
            approvers: vec!["group:dba".into()],
            quorum: 2,
            approved_by: vec!["bob".into(), "carol".into()],
        }];
        let grant = key.sign(only_server);
        assert_eq!(
            verify_grant(&grant, &key.public_hex(), "r1", "d1", &mine),
            Err(GrantError::Weaker { rule: "x".into() })
        );
        // The client's rule was filed with a lower quorum than the client now requires.
        let mut weaker = payload();
        weaker.approvals[0].quorum = 1;
        weaker.approvals[0].approved_by = vec!["bob".into()];
        let grant = key.sign(weaker);
        assert_eq!(
            verify_grant(&grant, &key.public_hex(), "r1", "d1", &mine),
            Err(GrantError::Weaker { rule: "x".into() })
        );
    }
}
