//! Records already in the warehouse, read back from a real one: an appended source's
//! records re-sent in a new file are duplicates; a `replace` source reads none.

use super::*;
use crate::test_support::{CLINIC, Fixture, VISITS, parse_in, source, visits_csv};

#[tokio::test]
async fn records_already_stored_make_a_resent_record_a_duplicate() {
    let fx = Fixture::new();
    let clinic = source(CLINIC);
    fx.commit(
        vec![
            fx.parsed(
                &clinic,
                "clinic/a.csv",
                &visits_csv("2024-01", 0, 3, 0),
                None,
            )
            .await,
        ],
        None,
    )
    .await
    .expect("commit");
    let ctx = fx.session().await;
    let stored = loaded_records(&ctx, &clinic)
        .await
        .expect("read")
        .expect("an append source has stored records");
    assert_eq!(stored.len(), 3);

    // A new file re-sending persons 0..3 with two new ones: the three are duplicates of
    // stored records; the two new ones are accepted.
    let next = parse_in(
        &clinic,
        "clinic/b.csv",
        &visits_csv("2024-01", 0, 5, 0),
        None,
        usize::MAX,
        Some(&stored),
    )
    .unwrap_or_else(|(e, _)| panic!("rejected whole: {}", e.message));
    assert_eq!(
        (next.rows_read, next.rows_accepted, next.rows_rejected),
        (5, 2, 3)
    );

    // The file that stored them, loaded again, replaces its own rows: nothing duplicates.
    let again = parse_in(
        &clinic,
        "clinic/a.csv",
        &visits_csv("2024-01", 0, 3, 0),
        None,
        usize::MAX,
        Some(&stored),
    )
    .unwrap_or_else(|(e, _)| panic!("rejected whole: {}", e.message));
    assert_eq!(again.rows_accepted, 3);
}

#[tokio::test]
async fn an_empty_warehouse_has_no_stored_record_and_a_replace_source_reads_none() {
    let fx = Fixture::new();
    let ctx = fx.session().await;
    let none_yet = loaded_records(&ctx, &source(CLINIC))
        .await
        .expect("read")
        .expect("an append source");
    assert!(none_yet.is_empty());
    assert!(
        loaded_records(&ctx, &source(VISITS))
            .await
            .expect("read")
            .is_none(),
        "a replace source replaces its period: nothing to compare with"
    );
}
