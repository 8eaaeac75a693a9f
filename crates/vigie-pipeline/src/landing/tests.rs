//! The landing zone on a real directory: keys relative to its root, sorted, with sizes;
//! whole-file reads; a missing directory named in the error.

use super::*;

/// A landing directory holding `files` (key, content).
fn landing_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (key, content) in files {
        let path = dir.path().join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    dir
}

const FILES: [(&str, &str); 4] = [
    ("registry/people.csv", "HCN\n"),
    ("hospital/ed_202402.csv", "a,b\n1,2\n"),
    ("hospital/ed_202401.csv", "a,b\n"),
    ("hospital/ed_202401.csv.ready", ""),
];

async fn listed(landing: &Landing) -> Vec<(String, u64)> {
    landing
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|f| (f.key, f.size))
        .collect()
}

#[tokio::test]
async fn every_file_is_listed_by_key_relative_to_the_root_sorted_with_its_size() {
    let dir = landing_with(&FILES);
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    let expected = vec![
        ("hospital/ed_202401.csv".to_string(), 4),
        ("hospital/ed_202401.csv.ready".to_string(), 0),
        ("hospital/ed_202402.csv".to_string(), 8),
        ("registry/people.csv".to_string(), 4),
    ];
    assert_eq!(listed(&landing).await, expected);

    // The same zone named by a file:// URL lists the same keys (the URL's path is a
    // prefix of the store's locations, stripped from the keys).
    let url = url::Url::from_directory_path(dir.path()).expect("url");
    let by_url = Landing::open(url.as_str()).expect("open by URL");
    assert_eq!(listed(&by_url).await, expected);
}

#[tokio::test]
async fn a_listed_file_reads_whole_and_its_modification_time_is_the_files() {
    let dir = landing_with(&FILES);
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    for file in landing.list().await.expect("list") {
        let content = FILES
            .iter()
            .find(|(k, _)| *k == file.key)
            .map(|(_, c)| *c)
            .expect("a listed file was written");
        assert_eq!(landing.read(&file).await.expect("read"), content.as_bytes());
        assert!(
            file.modified > before,
            "{} modified {}",
            file.key,
            file.modified
        );
    }
}

#[tokio::test]
async fn an_empty_zone_lists_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    assert!(landing.list().await.expect("list").is_empty());
}

#[test]
fn a_missing_directory_or_a_bad_url_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("not-there");
    let location = missing.to_str().expect("utf-8");
    match Landing::open(location) {
        Err(PipelineError::Landing {
            location: named,
            message,
        }) => {
            assert_eq!(named, location);
            assert!(message.contains("no such directory"), "{message}");
        }
        Err(other) => panic!("expected a landing error, got {other}"),
        Ok(_) => panic!("a missing directory opened"),
    }
    match Landing::open("s3://") {
        Err(PipelineError::Landing { location, .. }) => assert_eq!(location, "s3://"),
        Err(other) => panic!("expected a landing error, got {other}"),
        Ok(_) => panic!("an unusable URL opened"),
    }
}

#[tokio::test]
async fn a_file_removed_after_the_listing_is_an_error_naming_it() {
    let dir = landing_with(&FILES);
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    let files = landing.list().await.expect("list");
    std::fs::remove_file(dir.path().join("registry/people.csv")).expect("remove");
    let gone = files
        .iter()
        .find(|f| f.key == "registry/people.csv")
        .expect("listed");
    match landing.read(gone).await {
        Err(PipelineError::Landing { location, .. }) => {
            assert!(location.ends_with("/registry/people.csv"), "{location}");
        }
        other => panic!("expected a landing error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_that_grew_or_shrank_after_the_listing_is_left_pending_not_read_as_it_was() {
    let dir = landing_with(&FILES);
    let landing = Landing::open(dir.path().to_str().expect("utf-8")).expect("open");
    let files = landing.list().await.expect("list");
    let file = |key: &str| files.iter().find(|f| f.key == key).expect("listed");
    // Still being written: whole lines appended, and a cut in the middle of a line.
    let path = dir.path().join("hospital/ed_202402.csv");
    std::fs::write(&path, "a,b\n1,2\n3,4\n").expect("append");
    std::fs::write(dir.path().join("registry/people.csv"), "HC").expect("truncate");
    for (key, now) in [("hospital/ed_202402.csv", 12), ("registry/people.csv", 2)] {
        match landing.read(file(key)).await {
            Err(PipelineError::Landing { location, message }) => {
                assert!(location.ends_with(key), "{location}");
                let listed = file(key).size;
                assert!(
                    message.contains(&format!(
                        "{listed} bytes when it was listed and {now} when it was read"
                    )),
                    "{message}"
                );
                assert!(message.contains("read again at the next run"), "{message}");
            }
            other => panic!("expected a landing error for {key}, got {other:?}"),
        }
    }
}
