use super::*;
use crate::approval::KeyPair;
use crate::server::store::tests::{request, user};

fn at(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(second).unwrap()
}

fn approve(
    r: &mut StoredRequest,
    who: &User,
    identities: &Identities,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    let key = KeyPair::from_seed([7; 32]);
    let sign = |payload| key.sign(payload);
    review(
        r,
        who,
        identities,
        &NewReview {
            verdict: Verdict::Approve,
            comment: None,
            window: None,
        },
        now,
        Issue {
            grant_lifetime: 600,
            window_cap: 8 * 3600,
            nonce: "n1".into(),
            sign: &sign,
        },
    )
}

#[test]
fn a_requester_never_approves_their_own_request() {
    let mut r = request(1, 2_000);
    let alice = user("alice", &["ops"]);
    let all = Identities::new(vec![alice.clone()]);
    let refusal = approve(&mut r, &alice, &all, at(1_000)).unwrap_err();
    assert!(matches!(refusal, Refusal::Forbidden(_)));
    assert!(r.reviews.is_empty() && r.status == Status::Pending);
}

#[test]
fn a_quorum_needs_distinct_approvers_and_signs_once() {
    let mut r = request(2, 2_000);
    let (bob, carol) = (user("bob", &["ops"]), user("carol", &["ops"]));
    let all = Identities::new(vec![bob.clone(), carol.clone()]);
    let first = approve(&mut r, &bob, &all, at(1_000)).unwrap();
    assert_eq!(first.events, ["request.reviewed"]);
    // The same approver twice counts once.
    approve(&mut r, &bob, &all, at(1_001)).unwrap();
    assert_eq!((r.status, r.reviews.len()), (Status::Pending, 1));
    let second = approve(&mut r, &carol, &all, at(1_002)).unwrap();
    assert_eq!(second.events, ["request.reviewed", "request.approved"]);
    let grant = r.grant.as_ref().unwrap();
    // The grant never outlives the request.
    assert_eq!(grant.payload.expires_at, stamp(at(1_602)));
    assert!(
        approve(&mut r, &carol, &all, at(1_003)).is_err(),
        "approved already"
    );
}

#[test]
fn expiry_is_seen_on_read_but_only_the_sweeper_records_it() {
    let mut r = request(1, 2_000);
    assert_eq!(status_at(&r, at(1_999)), Status::Pending);
    assert_eq!(status_at(&r, at(2_000)), Status::Expired);
    assert_eq!(r.status, Status::Pending, "reading changes nothing");
    let bob = user("bob", &["ops"]);
    let refusal =
        approve(&mut r, &bob, &Identities::new(vec![bob.clone()]), at(2_000)).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Conflict(format!("request {} is expired", r.id))
    );
    assert!(expire(&mut r, at(1_999)).is_err(), "not due yet");
    let swept = expire(&mut r, at(2_001)).unwrap();
    assert_eq!(swept.events, ["request.expired"]);
    assert!(expire(&mut r, at(2_002)).is_err(), "once");
}

#[test]
fn a_grant_that_ran_out_cannot_be_consumed() {
    let mut r = request(1, 10_000);
    let bob = user("bob", &["ops"]);
    approve(&mut r, &bob, &Identities::new(vec![bob.clone()]), at(1_000)).unwrap();
    let alice = user("alice", &[]);
    assert_eq!(status_at(&r, at(1_599)), Status::Approved);
    assert!(
        consume(&mut r.clone(), &alice, None, at(1_600)).is_err(),
        "the grant lasts 600 s"
    );
    let done = consume(&mut r, &alice, None, at(1_599)).unwrap();
    assert_eq!(done.events, ["request.consumed"]);
}

#[test]
fn only_the_requester_consumes_and_only_the_grant_nonce_replays() {
    let mut r = request(1, 10_000);
    let bob = user("bob", &["ops"]);
    approve(&mut r, &bob, &Identities::new(vec![bob.clone()]), at(1_000)).unwrap();
    assert!(matches!(
        consume(&mut r, &bob, None, at(1_001)),
        Err(Refusal::Forbidden(_))
    ));
    let alice = user("alice", &[]);
    assert!(consume(&mut r.clone(), &alice, Some("other"), at(1_001)).is_err());
    consume(&mut r, &alice, Some("n1"), at(1_001)).unwrap();
    assert!(
        consume(&mut r, &alice, Some("n1"), at(1_002))
            .unwrap()
            .replay
    );
    assert!(
        consume(&mut r, &alice, None, at(1_002)).is_err(),
        "no nonce, no replay"
    );
    assert!(consume(&mut r, &alice, Some("n2"), at(1_002)).is_err());
    // Only soon after: a nonce is no key to the request's secrets for ever.
    let last = 1_001 + REPLAY_SECONDS;
    assert!(
        consume(&mut r, &alice, Some("n1"), at(last))
            .unwrap()
            .replay
    );
    assert!(consume(&mut r, &alice, Some("n1"), at(last + 1)).is_err());
}

#[test]
fn a_consume_without_the_nonce_is_never_replayed() {
    let mut r = request(1, 10_000);
    let bob = user("bob", &["ops"]);
    approve(&mut r, &bob, &Identities::new(vec![bob.clone()]), at(1_000)).unwrap();
    let alice = user("alice", &[]);
    consume(&mut r, &alice, None, at(1_001)).unwrap();
    assert!(consume(&mut r, &alice, Some("n1"), at(1_002)).is_err());
}

#[test]
fn cancel_is_the_requesters_and_only_while_pending() {
    let mut r = request(1, 10_000);
    assert!(cancel(&mut r, &user("bob", &["ops"]), at(1_000)).is_err());
    assert_eq!(
        cancel(&mut r, &user("alice", &[]), at(1_000))
            .unwrap()
            .events,
        ["request.cancelled"]
    );
    assert!(cancel(&mut r, &user("alice", &[]), at(1_001)).is_err());
}

#[test]
fn an_auditor_sees_every_request_and_reviews_none() {
    let mut r = request(1, 2_000);
    let configured = User {
        auditor: true,
        ..user("erin", &["ops"])
    };
    let all = Identities::new(vec![configured]);
    let erin = all.get("erin").unwrap().clone();
    assert!(
        !erin.can_review,
        "an auditor never reviews, whatever its entry says"
    );
    assert!(may_see(&erin, &r));
    assert!(matches!(may_review(&erin, &r), Err(Refusal::Forbidden(_))));
    let refusal = approve(&mut r, &erin, &all, at(1_000)).unwrap_err();
    assert!(matches!(refusal, Refusal::Forbidden(_)));
    assert!(r.reviews.is_empty() && r.status == Status::Pending);
    // Someone who is neither requester, approver nor auditor sees nothing.
    let outsider = user("mallory", &["dev"]);
    assert!(!may_see(&outsider, &r));
}
