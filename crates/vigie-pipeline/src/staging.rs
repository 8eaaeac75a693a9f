//! The ingest's staging directory: rows of large files spilled while they are parsed.
//!
//! Its files are row-level health data (pseudonymised), so the directory is the owner's
//! alone (mode 0700: the files in it are out of others' reach whatever their own mode). It
//! is removed at the end of the load; a load killed (`kill -9`, a crash, a reboot) left it
//! behind, hundreds of megabytes at province scale, readable by anyone on the machine. Its
//! name carries the loading process's id, so that a later load removes the directories of
//! processes no longer running — never one of a load still running, of this warehouse or
//! another.

use std::path::Path;

/// How a staging directory's name starts.
const PREFIX: &str = "vigie-staging-";

/// Creates a staging directory under `root` (the system's temporary directory), after
/// removing those left there by loads no longer running.
pub(crate) fn create(root: &Path) -> std::io::Result<tempfile::TempDir> {
    remove_stale(root);
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{PREFIX}{}-", std::process::id());
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir_in(root)
}

/// Removes the staging directories under `root` whose process is no longer running.
/// Where running processes cannot be told (no `/proc`), none is removed.
fn remove_stale(root: &Path) {
    let processes = Path::new("/proc");
    if !processes.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || processes.join(pid.to_string()).exists() {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_dir_all(&path) {
            Ok(()) => tracing::info!(
                directory = %path.display(),
                "removed the staging directory of a load no longer running / répertoire de transit d'un chargement interrompu supprimé"
            ),
            Err(e) => tracing::warn!(
                directory = %path.display(),
                "cannot remove the staging directory of a load no longer running: {e}"
            ),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_staging_directory_is_private_and_only_dead_loads_leftovers_are_removed() {
        let root = tempfile::tempdir().expect("root");
        // A process id above the kernel's maximum (4194304) is never running.
        let dead = root.path().join(format!("{PREFIX}999999999-abc"));
        std::fs::create_dir(&dead).expect("dead");
        std::fs::write(dead.join("rows.parquet"), b"rows").expect("file");
        // A running process's (this one's parent: the test harness runs as a child of
        // something that is alive) and a name that is not a staging directory's.
        let parent = std::os::unix::process::parent_id();
        let live = root.path().join(format!("{PREFIX}{parent}-xyz"));
        std::fs::create_dir(&live).expect("live");
        let other = root.path().join("vigie-staging-notapid");
        std::fs::create_dir(&other).expect("other");

        let created = create(root.path()).expect("create");
        assert!(!dead.exists(), "a dead load's leftovers are removed");
        assert!(live.exists(), "a running load's directory is kept");
        assert!(other.exists(), "a directory not named by vigie is kept");
        let name = created
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        assert!(
            name.starts_with(&format!("{PREFIX}{}-", std::process::id())),
            "{name}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(created.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }
}
