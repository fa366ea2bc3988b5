//! One suite, run against both stores: SQLite in a temporary directory, and PostgreSQL
//! in a fresh database of the cluster `tests/postgres.sh` starts (its URL in
//! `GATEKEEP_TEST_DATABASE_URL`; without it the PostgreSQL half fails under CI and says
//! loudly that it did not run elsewhere).

use std::sync::Arc;

use super::*;
use crate::approval::{KeyPair, NewReview, Verdict};
use crate::server::config::{Identities, User};
use crate::server::lifecycle::{self, Issue};

pub(crate) fn user(name: &str, groups: &[&str]) -> User {
    User {
        name: name.into(),
        token_sha256: "0".repeat(64),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        can_review: true,
        agent: false,
        auditor: false,
        slack_id: None,
        email: None,
    }
}

/// A pending request by alice needing `quorum` approvals from group ops, expiring at
/// `expires` (Unix seconds).
pub(crate) fn request(quorum: u32, expires: i64) -> StoredRequest {
    let new: NewRequest = serde_json::from_value(serde_json::json!({
        "argv": ["pg_dump", "prod"], "cwd": "/srv", "resolved_path": "/usr/bin/pg_dump",
        "binary_sha256": "00", "host": "box", "user": "alice", "agent": false,
        "rules": ["r"], "approvals": [{"rule": "r", "approvers": ["group:ops"], "quorum": quorum}],
        "digest": "d1",
    }))
    .expect("a request body");
    StoredRequest {
        id: uuid::Uuid::now_v7().to_string(),
        requester: "alice".into(),
        request: new,
        status: Status::Pending,
        created_at: "2026-01-01T00:00:00Z".into(),
        expires_at: "2099-01-01T00:00:00Z".into(),
        expires_unix: expires,
        reviews: Vec::new(),
        grant: None,
        consumed_at: None,
        consumed_nonce: None,
        released: Default::default(),
        log_head_conflict: None,
        window: None,
        under_window: None,
        escalations: Vec::new(),
        reminders: 0,
        reminded_unix: 0,
        break_glass: None,
        next_unix: 0,
    }
}

fn far() -> i64 {
    jiff::Timestamp::now().as_second() + 3600
}

fn identities() -> Arc<Identities> {
    Arc::new(Identities::new(vec![
        user("alice", &["ops"]),
        user("bob", &["ops"]),
        user("carol", &["ops"]),
    ]))
}

fn review_rule(key: Arc<KeyPair>, reviewer: &str) -> Rule {
    let (who, all) = (user(reviewer, &["ops"]), identities());
    Box::new(move |r, now| {
        let sign = |payload| key.sign(payload);
        lifecycle::review(
            r,
            &who,
            &all,
            &NewReview {
                verdict: Verdict::Approve,
                comment: None,
                window: None,
            },
            now,
            Issue {
                grant_lifetime: 600,
                window_cap: 8 * 3600,
                nonce: uuid::Uuid::new_v4().to_string(),
                sign: &sign,
            },
        )
    })
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("opens");
    (Arc::new(store), dir)
}

/// The test cluster's URL, or `None` (said loudly) outside CI.
pub(crate) fn cluster_url() -> Option<String> {
    match std::env::var("GATEKEEP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but GATEKEEP_TEST_DATABASE_URL is not: run the tests under tests/postgres.sh"
            )
        }
        _ => {
            eprintln!(
                "NOT RUN against PostgreSQL: GATEKEEP_TEST_DATABASE_URL is not set (run under tests/postgres.sh)"
            );
            None
        }
    }
}

/// A fresh, empty database on the test cluster; its URL.
pub(crate) async fn fresh_database(url: &str) -> String {
    let connect = postgres::connect_options(url).expect("the test URL parses");
    let (client, connection) = connect
        .config
        .connect(connect.tls.clone())
        .await
        .expect("the test cluster answers");
    let driver = tokio::spawn(connection);
    let name = format!("gk_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creates a database");
    drop(client);
    let _ = driver.await;
    let mut parsed = url::Url::parse(url).expect("a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

async fn postgres() -> Option<Arc<dyn Store>> {
    let url = fresh_database(&cluster_url()?).await;
    Some(Arc::new(PostgresStore::open(&url).await.expect("opens")))
}

/// Runs `case` against SQLite, then PostgreSQL.
macro_rules! both {
    ($name:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (store, _dir) = sqlite().await;
            $case(store).await;
            if let Some(store) = postgres().await {
                $case(store).await;
            }
        }
    };
}

both!(a_retried_create_files_one_request, idempotent_create);
both!(two_concurrent_approvals_issue_one_grant, concurrent_quorum);
both!(
    of_eight_concurrent_consumers_exactly_one_succeeds,
    single_use
);
both!(expiry_happens_once_with_one_event, expiry_once);
both!(the_outbox_keeps_order_leases_and_retries, outbox);
both!(the_signing_key_is_recorded_once, signing_key_once);
both!(sessions_live_in_the_database, sessions);
both!(waiters_wake_on_commit, wake_on_commit);
both!(
    a_witness_write_against_a_moved_head_is_refused,
    witness_race
);
both!(requests_are_found_by_an_id_prefix, id_prefix);

async fn id_prefix(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = request(1, far());
        store.create(&r, None, Vec::new()).await.unwrap();
        ids.push(r.id);
    }
    let found = |prefix: String, limit| {
        let store = Arc::clone(&store);
        async move {
            let found = store.by_id_prefix(&prefix, limit).await.unwrap();
            found.into_iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(found(ids[1].clone(), 10).await, vec![ids[1].clone()]);
    assert_eq!(
        found(ids[2][..30].to_owned(), 10).await,
        vec![ids[2].clone()]
    );
    // Made in the same minute, the three share their first eight characters.
    let common = ids[0][..8].to_owned();
    if ids.iter().all(|id| id.starts_with(&common)) {
        assert_eq!(found(common.clone(), 10).await, ids);
        assert_eq!(found(common, 2).await, ids[..2].to_vec());
    }
    // Upper case finds nothing (ids are lower case), and pattern characters are no
    // wildcards.
    assert!(found(ids[0].to_uppercase(), 10).await.is_empty());
    assert!(found("%".into(), 10).await.is_empty());
    assert!(found(format!("{}_", &ids[0][..8]), 10).await.is_empty());
}

async fn idempotent_create(store: Arc<dyn Store>) {
    let first = request(1, far());
    assert!(matches!(
        store
            .create(&first, Some("run-1"), Vec::new())
            .await
            .unwrap(),
        Filed::New(_)
    ));
    let retry = request(1, far());
    match store
        .create(&retry, Some("run-1"), Vec::new())
        .await
        .unwrap()
    {
        Filed::Existing(existing) => assert_eq!(existing.id, first.id),
        other => panic!("a retry filed again: {other:?}"),
    }
    assert!(store.get(&retry.id).await.unwrap().is_none());
    // Keys are per requester; no key never matches.
    let mut bobs = request(1, far());
    bobs.requester = "bob".into();
    assert!(matches!(
        store
            .create(&bobs, Some("run-1"), Vec::new())
            .await
            .unwrap(),
        Filed::New(_)
    ));
    for _ in 0..2 {
        assert!(matches!(
            store
                .create(&request(1, far()), None, Vec::new())
                .await
                .unwrap(),
            Filed::New(_)
        ));
    }
}

async fn concurrent_quorum(store: Arc<dyn Store>) {
    let key = Arc::new(KeyPair::generate().unwrap());
    let r = request(2, far());
    store.create(&r, None, Vec::new()).await.unwrap();
    let mut tasks = Vec::new();
    for reviewer in ["bob", "carol"] {
        let (store, rule, id) = (
            Arc::clone(&store),
            review_rule(Arc::clone(&key), reviewer),
            r.id.clone(),
        );
        tasks.push(tokio::spawn(async move { store.change(&id, rule).await }));
    }
    let mut approvals = 0;
    for task in tasks {
        let (_, transition) = task.await.unwrap().unwrap().unwrap().unwrap();
        approvals += transition
            .events
            .iter()
            .filter(|e| **e == "request.approved")
            .count();
    }
    assert_eq!(approvals, 1, "exactly one transaction approves");
    let stored = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Approved);
    assert_eq!(stored.reviews.len(), 2, "both reviews are kept");
    let grant = stored.grant.expect("a grant");
    let mut by = grant.payload.approvals[0].approved_by.clone();
    by.sort();
    assert_eq!(by, ["bob", "carol"]);
}

async fn approved(store: &Arc<dyn Store>) -> StoredRequest {
    let key = Arc::new(KeyPair::generate().unwrap());
    let r = request(1, far());
    store.create(&r, None, Vec::new()).await.unwrap();
    store
        .change(&r.id, review_rule(key, "bob"))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    store.get(&r.id).await.unwrap().unwrap()
}

async fn single_use(store: Arc<dyn Store>) {
    let r = approved(&store).await;
    let nonce = r.grant.as_ref().unwrap().payload.nonce.clone();
    // Eight at once, half naming the grant's nonce: one moves the request, the others
    // are refused, or (with the nonce the winner named) told the same answer again.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (store, id, nonce) = (Arc::clone(&store), r.id.clone(), nonce.clone());
        tasks.push(tokio::spawn(async move {
            let alice = user("alice", &[]);
            let rule: Rule = Box::new(move |r, now| {
                lifecycle::consume(r, &alice, (n % 2 == 0).then_some(nonce.as_str()), now)
            });
            store.change(&id, rule).await.unwrap().unwrap()
        }));
    }
    let (mut moved, mut replays) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok((_, t)) if t.replay => replays += 1,
            Ok(_) => moved += 1,
            Err(refusal) => assert!(refusal.message().contains("consumed"), "{refusal:?}"),
        }
    }
    assert_eq!(moved, 1, "exactly one consume moves the request");
    let stored = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Consumed);
    match stored.consumed_nonce {
        // The winner named the nonce: the other three that did were answered again.
        Some(_) => assert_eq!(replays, 3),
        None => assert_eq!(replays, 0, "no nonce, no replay"),
    }
}

async fn expiry_once(store: Arc<dyn Store>) {
    store.set_sinks(vec!["hook".into()]);
    let past = jiff::Timestamp::now().as_second() - 5;
    let r = request(1, past);
    store.create(&r, None, Vec::new()).await.unwrap();
    let live = request(1, far());
    store.create(&live, None, Vec::new()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.expire_due(10).await.unwrap().len()
        }));
    }
    let mut moved = 0;
    for task in tasks {
        moved += task.await.unwrap();
    }
    assert_eq!(moved, 1, "one sweep expires it, once");
    assert_eq!(
        store.get(&r.id).await.unwrap().unwrap().status,
        Status::Expired
    );
    assert_eq!(
        store.get(&live.id).await.unwrap().unwrap().status,
        Status::Pending
    );
    // created ×2 and expired ×1, one delivery each to the one receiver.
    assert_eq!(store.undelivered().await.unwrap(), 3);
    store.set_sinks(Vec::new());
}

async fn outbox(store: Arc<dyn Store>) {
    store.set_sinks(vec!["a".into(), "b".into()]);
    let r = request(1, far());
    store.create(&r, None, Vec::new()).await.unwrap();
    let alice = user("alice", &[]);
    let cancel: Rule = Box::new(move |r, now| lifecycle::cancel(r, &alice, now));
    store.change(&r.id, cancel).await.unwrap().unwrap().unwrap();
    let lease = std::time::Duration::from_secs(60);
    // Only the oldest event per request and receiver is claimable.
    let first = store.claim("one", lease, 10).await.unwrap();
    let kinds: Vec<(&str, &str)> = first
        .iter()
        .map(|d| (d.sink.as_str(), d.kind.as_str()))
        .collect();
    assert_eq!(kinds, [("a", "request.created"), ("b", "request.created")]);
    assert_eq!(
        first[0].event_id, first[1].event_id,
        "one delivery id per event"
    );
    // Leased: nobody else gets them, and the later event waits behind them.
    assert!(store.claim("two", lease, 10).await.unwrap().is_empty());
    // Only the holder of the lease records the outcome.
    store
        .delivered("two", &first[0].event_id, "a", None)
        .await
        .unwrap();
    assert!(
        store.claim("two", lease, 10).await.unwrap().is_empty(),
        "still one's"
    );
    store
        .delivered("one", &first[0].event_id, "a", None)
        .await
        .unwrap();
    let next = store.claim("two", lease, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        (next[0].sink.as_str(), next[0].kind.as_str()),
        ("a", "request.cancelled")
    );
    assert_eq!(
        next[0].request.status,
        Status::Cancelled,
        "the request as of the event"
    );
    // A failure comes back when due, counting the attempt.
    store
        .retry_later(
            "two",
            &next[0].event_id,
            "a",
            std::time::Duration::ZERO,
            "HTTP 500",
        )
        .await
        .unwrap();
    let again = store
        .claim("two", std::time::Duration::ZERO, 10)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    // A replica claims deliveries to the receivers it knows only: "a"'s is due and free,
    // "b"'s are leased or behind a leased one.
    store.set_sinks(vec!["b".into()]);
    let theirs = store.claim("three", lease, 10).await.unwrap();
    assert!(theirs.is_empty(), "{theirs:?}");
    store.set_sinks(vec!["a".into(), "b".into()]);
    // A lease that ran out (its replica died) is claimed by another, same delivery id.
    let taken = store.claim("three", lease, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].event_id, again[0].event_id);
    store.set_sinks(Vec::new());
}

async fn signing_key_once(store: Arc<dyn Store>) {
    assert_eq!(store.signing_key("k1").await.unwrap(), "k1");
    assert_eq!(
        store.signing_key("k2").await.unwrap(),
        "k1",
        "the first key stays"
    );
    store.rotate_signing_key("k2").await.unwrap();
    assert_eq!(store.signing_key("k3").await.unwrap(), "k2");
}

async fn sessions(store: Arc<dyn Store>) {
    let live = Session {
        user: "bob".into(),
        token_sha256: "t".into(),
        csrf: "c".into(),
        expires_unix: far(),
    };
    store.put_session("s1", &live).await.unwrap();
    assert_eq!(store.session("s1").await.unwrap(), Some(live));
    let old = Session {
        user: "bob".into(),
        token_sha256: "t".into(),
        csrf: "c".into(),
        expires_unix: 1,
    };
    store.put_session("s2", &old).await.unwrap();
    assert_eq!(store.session("s2").await.unwrap(), None, "expired");
    store.remove_session("s1").await.unwrap();
    assert_eq!(store.session("s1").await.unwrap(), None);
}

async fn wake_on_commit(store: Arc<dyn Store>) {
    let r = request(1, far());
    store.create(&r, None, Vec::new()).await.unwrap();
    let mut waiter = store.waiters().subscribe(&r.id);
    let alice = user("alice", &[]);
    let cancel: Rule = Box::new(move |r, now| lifecycle::cancel(r, &alice, now));
    store.change(&r.id, cancel).await.unwrap().unwrap().unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), waiter.changed())
        .await
        .expect("the waiter is woken by the commit");
}

#[tokio::test]
async fn a_database_from_a_newer_gatekeep_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(SqliteStore::open(&path).await.unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("INSERT INTO schema_version (version) VALUES (99)", [])
        .unwrap();
    let error = SqliteStore::open(&path)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("version 99, newer"), "{error}");
    let Some(url) = cluster_url() else { return };
    let url = fresh_database(&url).await;
    drop(PostgresStore::open(&url).await.unwrap());
    let connect = postgres::connect_options(&url).unwrap();
    let (client, connection) = connect.config.connect(connect.tls.clone()).await.unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("INSERT INTO schema_version (version) VALUES (99)")
        .await
        .unwrap();
    let error = PostgresStore::open(&url)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("version 99, newer"), "{error}");
}

#[tokio::test]
async fn a_database_of_the_single_process_service_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let r = request(1, 4_000_000_000);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0].sqlite).unwrap();
        conn.execute(
            "INSERT INTO requests (id, requester, digest, status, body) VALUES (?1, 'alice', 'd1', 'pending', ?2)",
            rusqlite::params![r.id, serde_json::to_string(&r).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.get(&r.id).await.unwrap(), Some(r.clone()));
    // The expiry column was filled from the body: it is not due.
    assert!(store.expire_due(10).await.unwrap().is_empty());
}

async fn witness_race(store: Arc<dyn Store>) {
    use crate::approval::WitnessedHead;
    let key = LogKey {
        host: "box",
        user: "alice",
        path: "/var/log/gk.jsonl",
    };
    let head = |seq: u64| WitnessedHead {
        seq,
        hash: format!("{seq:064x}"),
        at: "2026-01-01T00:00:00Z".into(),
        identity: "alice".into(),
    };
    let records = |from: u64, to: u64| -> Vec<(u64, String)> {
        (from..=to).map(|s| (s, format!("{s:064x}"))).collect()
    };
    store
        .witness_extend(key, "chain", None, &records(1, 3), &head(3))
        .await
        .unwrap();
    // A second writer that checked its proof before the first wrote is refused.
    let error = store
        .witness_extend(key, "chain", None, &records(1, 2), &head(2))
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("extended meanwhile"), "{error}");
    store
        .witness_extend(key, "chain", Some(3), &records(4, 5), &head(5))
        .await
        .unwrap();
    let log = store.witness_log(key).await.unwrap().unwrap();
    assert_eq!(log.latest.unwrap().seq, 5);
}

both!(
    audit_records_form_one_chain_across_concurrent_writers,
    audit_chain
);
both!(
    retention_removes_the_oldest_records_and_says_so_in_the_chain,
    audit_retention
);

/// Every record of the store's audit chain, oldest first, read a page at a time.
async fn all_records(store: &Arc<dyn Store>) -> (Option<String>, Vec<(u64, String)>) {
    let mut rows = Vec::new();
    let mut after = None;
    let mut chain_id = None;
    loop {
        let page = store.audit_page(after, 7).await.unwrap();
        chain_id = page.chain_id.or(chain_id);
        let Some((last, _)) = page.rows.last() else {
            break;
        };
        after = Some(*last);
        rows.extend(page.rows);
    }
    (chain_id, rows)
}

fn fields(line: &str) -> serde_json::Value {
    serde_json::from_str(line).expect("a record is JSON")
}

async fn audit_chain(store: Arc<dyn Store>) {
    store.set_replica("replica-a".into());
    let key = Arc::new(KeyPair::generate().unwrap());
    // Creates and approvals (whose records go in with the change) and records of their
    // own, from many tasks at once.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = Arc::clone(&store);
        let key = Arc::clone(&key);
        tasks.push(tokio::spawn(async move {
            let r = request(1, far());
            let created = vec![(
                "request_created".to_owned(),
                serde_json::json!({"id": r.id}),
            )];
            store.create(&r, None, created).await.unwrap();
            store
                .change(&r.id, review_rule(key, "bob"))
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            store
                .append_audit(vec![("note".to_owned(), serde_json::json!({"n": n}))])
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (chain_id, rows) = all_records(&store).await;
    let chain_id = chain_id.expect("the chain has an id");
    let lines: Vec<&str> = rows.iter().map(|(_, l)| l.as_str()).collect();
    let links = crate::audit::links(&lines, &chain_id).expect("one unbroken chain");
    assert_eq!(links[0].event, "chain_open");
    let count = |event: &str| links.iter().filter(|l| l.event == event).count();
    assert_eq!(count("request_created"), 8);
    assert_eq!(count("review"), 8, "each review recorded with its change");
    assert_eq!(count("request_approved"), 8);
    assert_eq!(count("note"), 8);
    assert!(
        lines[1..]
            .iter()
            .all(|l| fields(l)["replica"] == "replica-a"),
        "every record names the replica that wrote it"
    );
    // A refused change records nothing.
    let r = request(1, far());
    store.create(&r, None, Vec::new()).await.unwrap();
    let before = all_records(&store).await.1.len();
    let refused = store
        .change(&r.id, review_rule(Arc::clone(&key), "alice"))
        .await
        .unwrap()
        .unwrap();
    assert!(refused.is_err(), "alice may not approve her own request");
    assert_eq!(all_records(&store).await.1.len(), before);
}

async fn audit_retention(store: Arc<dyn Store>) {
    store.set_replica("replica-a".into());
    let created = |r: &StoredRequest| {
        vec![(
            "request_created".to_owned(),
            serde_json::json!({"id": r.id}),
        )]
    };
    let done = request(1, jiff::Timestamp::now().as_second() - 5);
    store.create(&done, None, created(&done)).await.unwrap();
    store.expire_due(10).await.unwrap();
    let note = |n: i64| vec![("note".to_owned(), serde_json::json!({"n": n}))];
    for n in 0..5 {
        store.append_audit(note(n)).await.unwrap();
    }
    // A request still waiting: its records, and every record after, are kept.
    let waiting = request(1, far());
    store
        .create(&waiting, None, created(&waiting))
        .await
        .unwrap();
    store.append_audit(note(5)).await.unwrap();
    let (_, before) = all_records(&store).await;
    let waiting_at = before
        .iter()
        .position(|(_, l)| fields(l)["id"] == waiting.id.as_str())
        .unwrap();
    // Nothing is stamped before an hour ago: nothing goes, not even the finished request.
    let hour_ago = jiff::Timestamp::now().as_second() - 3600;
    let key = Arc::new(KeyPair::generate().unwrap());
    let signer = Arc::clone(&key);
    let sign: audit::Signer = Arc::new(move |m| signer.sign_message(m));
    let pruned = store
        .prune(hour_ago, 90, 90, Arc::clone(&sign))
        .await
        .unwrap();
    assert_eq!((pruned.records, pruned.requests), (0, 0));
    assert!(pruned.record.is_none());
    // A cut after everything: the finished request goes, and every record before the
    // waiting request's first.
    let later = jiff::Timestamp::now().as_second() + 3600;
    let pruned = store.prune(later, 90, 120, sign).await.unwrap();
    assert_eq!(pruned.records, waiting_at as u64);
    assert_eq!(pruned.requests, 1);
    assert!(store.get(&done.id).await.unwrap().is_none());
    assert!(
        store.get(&waiting.id).await.unwrap().is_some(),
        "a pending request is never removed"
    );
    let (chain_id, after) = all_records(&store).await;
    assert!(chain_id.is_some(), "the chain keeps its id");
    assert_eq!(after[..after.len() - 1], before[waiting_at..]);
    let lines: Vec<&str> = after.iter().map(|(_, l)| l.as_str()).collect();
    let links = crate::audit::links(&lines, "").expect("what is kept still chains");
    assert_eq!(links.last().unwrap().event, "retention");
    let retention = fields(lines.last().unwrap());
    assert_eq!(retention["first_kept_seq"], after[0].0);
    assert_eq!(retention["first_kept_prev"], fields(lines[0])["prev"]);
    assert_eq!(retention["removed"][0]["first_seq"], 0);
    assert_eq!(retention["removed"][0]["records"], waiting_at);
    assert_eq!(retention["requests_removed"], 1);
    assert_eq!(retention["keep_days"], 120);
    // Signed by the service's key, over the chain and the run.
    let (chain, _) = all_records(&store).await;
    assert_eq!(retention["chain_id"], chain.unwrap().as_str());
    let message = audit::retention_message(
        retention["chain_id"].as_str().unwrap(),
        0,
        retention["removed"][0]["last_seq"].as_i64().unwrap(),
        retention["first_kept_prev"].as_str().unwrap(),
        retention["newest_removed_ts"].as_str().unwrap(),
        90,
    );
    assert!(crate::approval::verify_message(
        &key.public_hex(),
        &message,
        retention["signature"].as_str().unwrap()
    ));
    assert_eq!(
        pruned.record.as_ref(),
        Some(&retention)
            .map(|r| {
                let mut r = r.clone();
                for k in ["seq", "ts", "event", "prev", "replica"] {
                    r.as_object_mut().unwrap().remove(k);
                }
                r
            })
            .as_ref()
    );
    // The chain goes on after the removal.
    store.append_audit(note(9)).await.unwrap();
    let (_, last) = all_records(&store).await;
    let lines: Vec<&str> = last.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        crate::audit::links(&lines, "").unwrap().len(),
        after.len() + 1
    );
}

/// Every audit record deleted behind the service's back: the chain is not opened anew
/// over the gap, and nothing more is recorded or changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_emptied_by_hand_is_not_opened_again() {
    let check = |store: Arc<dyn Store>| async move {
        let error = store
            .append_audit(vec![("note".to_owned(), serde_json::json!({}))])
            .await
            .expect_err("refused");
        assert!(
            error.to_string().contains("removed outside gatekeep"),
            "{error}"
        );
        let r = request(1, far());
        let created = vec![(
            "request_created".to_owned(),
            serde_json::json!({"id": r.id}),
        )];
        assert!(store.create(&r, None, created).await.is_err());
        assert!(
            store.get(&r.id).await.unwrap().is_none(),
            "the change rolled back with it"
        );
    };
    let (store, dir) = sqlite().await;
    store
        .append_audit(vec![("note".to_owned(), serde_json::json!({}))])
        .await
        .unwrap();
    rusqlite::Connection::open(dir.path().join("t.db"))
        .unwrap()
        .execute("DELETE FROM audit_records", [])
        .unwrap();
    check(store).await;
    let Some(cluster) = cluster_url() else {
        return;
    };
    let url = fresh_database(&cluster).await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await.expect("opens"));
    store
        .append_audit(vec![("note".to_owned(), serde_json::json!({}))])
        .await
        .unwrap();
    let connect = postgres::connect_options(&url).unwrap();
    let (client, connection) = connect.config.connect(connect.tls.clone()).await.unwrap();
    let driver = tokio::spawn(connection);
    client
        .execute("DELETE FROM audit_records", &[])
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    check(store).await;
}

/// Two replicas on one PostgreSQL database append to one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_append_to_one_audit_chain() {
    let Some(cluster) = cluster_url() else {
        return;
    };
    let url = fresh_database(&cluster).await;
    let a: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await.expect("opens"));
    let b: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await.expect("opens"));
    a.set_replica("a".into());
    b.set_replica("b".into());
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = Arc::clone(if n % 2 == 0 { &a } else { &b });
        tasks.push(tokio::spawn(async move {
            store
                .append_audit(vec![
                    ("note".to_owned(), serde_json::json!({"n": n})),
                    (
                        "note".to_owned(),
                        serde_json::json!({"n": n, "second": true}),
                    ),
                ])
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (chain_id, rows) = all_records(&b).await;
    let lines: Vec<&str> = rows.iter().map(|(_, l)| l.as_str()).collect();
    let links = crate::audit::links(&lines, &chain_id.unwrap()).expect("one chain");
    assert_eq!(links.len(), 41);
    for replica in ["a", "b"] {
        assert_eq!(
            lines
                .iter()
                .filter(|l| fields(l)["replica"] == replica)
                .count(),
            20,
            "{replica}"
        );
    }
}
