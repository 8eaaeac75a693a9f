//! One writer at a time on a warehouse.
//!
//! Delta commits are atomic per table, but a vigie load spans several tables and the load
//! manifest (see the crate docs), and its idempotent re-runs assume nobody else replaces the
//! same rows meanwhile. Two vigie processes (ingest, run, compute, serve; possibly on
//! several machines when the warehouse is on an object store) must therefore never
//! interleave their writes: each takes the warehouse's writer lock first, and a second
//! writer waits for the first (up to a given time) or is refused with
//! [`WarehouseError::Busy`], which names the holder.
//!
//! ## Local warehouse (`file://`): an OS advisory lock
//!
//! `<warehouse>/_vigie_writer.lock` is locked with [`File::try_lock`] (`flock` on Linux).
//! The kernel owns that lock: it is released when the holder closes the file, exits or is
//! killed, so a dead holder never blocks the warehouse and nothing has to expire. A lease
//! object is not an option here: `object_store`'s `LocalFileSystem` has no conditional
//! update (`PutMode::Update` is not implemented, for want of exactly such a lock). The
//! holder writes its description (host, pid, purpose, since when) into the lock file so that
//! a refused process can say who holds the warehouse; the file is never truncated on open
//! and is emptied on release. A paused holder (SIGSTOP, debugger) keeps the lock: the others
//! wait, which is right since it may resume and commit. Advisory locks only bind processes
//! that ask for them (every vigie writer does), and on network file systems they are only as
//! good as the server's lock support.
//!
//! ## Object stores (`s3://`, `gs://`, `az://`): a lease
//!
//! There is no kernel shared by several machines, so the holder keeps a lease object,
//! `<warehouse>/_vigie_writer.lease` (JSON: holder id, host, pid, purpose, acquired_at,
//! expires_at, ttl), written only with conditional puts:
//! - acquire: `PutMode::Create`, which fails if a lease exists;
//! - a lease whose `expires_at` has passed (its holder died or stalled) or that was released
//!   is taken over with `PutMode::Update` against the e-tag/version just read, so of two
//!   processes taking over the same lease only the first write succeeds;
//! - a background task renews the lease every ttl/3 with `PutMode::Update` against the
//!   version of its own last write; a failed precondition means someone else took it over,
//!   and the lock is marked lost;
//! - release overwrites the lease, again conditionally on our last version, with a
//!   "released" record whose expiry is now. It is not deleted: `object_store` has no
//!   conditional delete, and an unconditional one could remove the lease of a process that
//!   has just taken over ours. The next writer takes the released lease over at once.
//!
//! A holder that dies stops renewing: its lease expires after the ttl (60 s by default) and
//! the next writer takes it over. A holder that is paused past the expiry may find, when it
//! resumes, that another process holds the warehouse. It must not commit then: a committer
//! calls [`WriterLock::still_held`] right before each commit. That check is local (no
//! request): the holder trusts its lease for only two thirds of the ttl after the start of
//! its last successful write, and not at all once a renewal found the lease taken over. The
//! remaining third is the margin for clock differences between machines (a taker compares
//! `expires_at` with its own clock) and for a commit already under way. Nothing in the Delta
//! log itself fences a stale writer, so the check narrows, but cannot close, the window of a
//! pause that falls between the check and the commit.

use std::fs::{File, OpenOptions, TryLockError};
use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use crate::Warehouse;
use crate::error::WarehouseError;

/// The lock file of a local warehouse, at its root.
pub const LOCK_FILE: &str = "_vigie_writer.lock";
/// The lease object of a warehouse on an object store, at its root.
pub const LEASE_OBJECT: &str = "_vigie_writer.lease";
/// How long a lease stays valid without renewal, by default.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// First pause between two attempts while waiting; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Rounds within one attempt when the lease changes between our read and our write
/// (another process released, or took over, at that moment): the next round reads the
/// newcomer's lease and reports it.
const CONTENDED_ROUNDS: usize = 4;

/// Who holds (or held) a warehouse's writer lock: what a refused process reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterHolder {
    /// Unique per acquisition (a UUID): tells one holder from another on the same host.
    pub id: String,
    /// Host name of the holder.
    pub host: String,
    /// Process id of the holder, on its host.
    pub pid: u32,
    /// What the holder is doing ("ingest", "run", "compute", ...).
    pub purpose: String,
    /// When it took the lock.
    pub acquired_at: DateTime<Utc>,
    /// Object stores: when the lease lapses unless renewed (None: a local OS lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Object stores: the lease's time to live, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Object stores: the holder released the lease (kept as a record, not deleted).
    #[serde(default, skip_serializing_if = "is_false")]
    pub released: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl WriterHolder {
    /// This process, doing `purpose`, from now.
    fn this_process(purpose: &str) -> Self {
        WriterHolder {
            id: uuid::Uuid::new_v4().to_string(),
            host: host_name(),
            pid: std::process::id(),
            purpose: purpose.to_string(),
            acquired_at: Utc::now(),
            expires_at: None,
            ttl_ms: None,
            released: false,
        }
    }

    /// A lease record: valid from `now` for `ttl`.
    fn lease_from(&self, now: DateTime<Utc>, ttl: Duration) -> Self {
        WriterHolder {
            acquired_at: now,
            expires_at: Some(now + chrono_ttl(ttl)),
            ttl_ms: Some(ttl_millis(ttl)),
            released: false,
            ..self.clone()
        }
    }

    /// Whether another process may take this lease over at `now`. A record without an
    /// expiry cannot come from a lease holder; it must not block the warehouse for ever.
    fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.released || self.expires_at.is_none_or(|at| at <= now)
    }
}

impl std::fmt::Display for WriterHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\"{}\" (pid {} on {}, since {})",
            self.purpose,
            self.pid,
            self.host,
            self.acquired_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// The message of [`WarehouseError::Busy`]: who holds the warehouse and what to do.
pub(crate) fn busy_message(location: &str, holder: Option<&WriterHolder>) -> String {
    let Some(h) = holder else {
        return format!(
            "warehouse {location} is busy: another vigie process holds its writer lock \
             (it has not said who it is yet). Wait and retry (or give a longer wait), or look \
             for a running vigie process that writes to this warehouse"
        );
    };
    let mut message = format!(
        "warehouse {location} is busy: {h} holds its writer lock. Wait for it to finish and \
         retry (or give a longer wait), or check that process (pid {} on {})",
        h.pid, h.host
    );
    match h.expires_at {
        None => message.push_str("; the lock is freed as soon as that process exits"),
        Some(at) => {
            let ttl = h
                .ttl_ms
                .map(|ms| format!(", {} after its last renewal", human_ms(ms)))
                .unwrap_or_default();
            message.push_str(&format!(
                "; if that process is gone, its lease expires at {}{ttl}, and the next \
                 writer then takes over",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
    }
    message
}

fn human_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}

fn chrono_ttl(ttl: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX)
}

/// How long a holder trusts its lease after the start of its last successful write: two
/// thirds of the ttl; the last third absorbs clock differences between machines and a commit
/// already under way when the check passed.
fn trusted_for(ttl: Duration) -> Duration {
    ttl * 2 / 3
}

/// The host name, for messages only (so no error: a placeholder does).
fn host_name() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string());
    from_kernel
        .into_iter()
        .chain(
            ["HOSTNAME", "COMPUTERNAME"]
                .into_iter()
                .filter_map(|k| std::env::var(k).ok()),
        )
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".to_string())
}

/// Settings of the writer lock; only leases (object stores) have any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// How long a lease stays valid without renewal: how long a dead holder blocks the
    /// warehouse.
    pub lease_ttl: Duration,
    /// How often the holder renews its lease (ttl/3 by default, so that one failed renewal
    /// still leaves time for another).
    pub renew_every: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions::with_lease_ttl(DEFAULT_LEASE_TTL)
    }
}

impl LockOptions {
    /// A lease of `ttl`, renewed every ttl/3.
    pub fn with_lease_ttl(ttl: Duration) -> Self {
        LockOptions {
            lease_ttl: ttl,
            renew_every: ttl / 3,
        }
    }
}

/// The right to write to a warehouse, held until released or dropped.
///
/// Call [`WriterLock::still_held`] right before each commit. Dropping the lock releases it
/// (best effort: a lease is released by a task on the current tokio runtime; if none runs
/// any more, the lease simply expires); [`WriterLock::release`] does it and waits.
#[derive(Debug)]
pub struct WriterLock {
    location: String,
    holder: WriterHolder,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Local(LocalLock),
    Lease(LeaseLock),
    Released,
}

impl Warehouse {
    /// Takes the warehouse's writer lock for `purpose` ("ingest", "run", ...), waiting up to
    /// `wait` while another process holds it (`Duration::ZERO`: try once). Fails with
    /// [`WarehouseError::Busy`], naming the holder, if it is still held after `wait`.
    pub async fn lock_writer(
        &self,
        purpose: &str,
        wait: Duration,
    ) -> Result<WriterLock, WarehouseError> {
        self.lock_writer_with(purpose, wait, &LockOptions::default())
            .await
    }

    /// [`Warehouse::lock_writer`] with explicit lease settings.
    pub async fn lock_writer_with(
        &self,
        purpose: &str,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<WriterLock, WarehouseError> {
        let location = self.root.to_string();
        if self.root.scheme() == "file" {
            let dir = self
                .root
                .to_file_path()
                .map_err(|()| WarehouseError::Location {
                    location: location.clone(),
                    message: "not a local directory path".into(),
                })?;
            WriterLock::acquire_local(&dir, &location, purpose, wait).await
        } else {
            let (store, prefix) = lease_store(&self.root)?;
            WriterLock::acquire_on_store(
                Arc::from(store),
                prefix.join(LEASE_OBJECT),
                &location,
                purpose,
                wait,
                options,
            )
            .await
        }
    }
}

/// The object store under a warehouse URL, configured from the environment (`AWS_*`,
/// `GOOGLE_*`, `AZURE_*`) as delta-rs configures its own stores, so that the lease is
/// written with the same credentials and endpoint as the tables.
pub(crate) fn lease_store(root: &Url) -> Result<(Box<dyn ObjectStore>, StorePath), WarehouseError> {
    let options = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            ["AWS_", "GOOGLE_", "AZURE_"]
                .iter()
                .any(|p| k.starts_with(p))
        });
    object_store::parse_url_opts(root, options).map_err(|source| WarehouseError::LockStore {
        location: root.to_string(),
        source,
    })
}

impl WriterLock {
    /// Who holds this lock: this process.
    pub fn holder(&self) -> &WriterHolder {
        &self.holder
    }

    /// The warehouse this lock is on.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Checks, without any request, that this process still holds the warehouse: call it
    /// right before each commit, and commit nothing if it fails. A lease fails once it has
    /// gone unrenewed for two thirds of its ttl (this process was paused, or the store was
    /// unreachable) or once a renewal found it taken over; a local lock fails if its lock
    /// file was removed or replaced.
    pub fn still_held(&self) -> Result<(), WarehouseError> {
        let lost = |reason: String| WarehouseError::LockLost {
            location: self.location.clone(),
            reason,
        };
        match &self.inner {
            Inner::Local(local) => local.check().map_err(lost),
            Inner::Lease(lease) => lease.shared.check().map_err(lost),
            Inner::Released => Err(lost("it was released".into())),
        }
    }

    /// Releases the lock now. Releasing a lease that was taken over leaves the new holder's
    /// lease alone; an error means the lease could not be written and will expire by itself.
    pub async fn release(mut self) -> Result<(), WarehouseError> {
        match std::mem::replace(&mut self.inner, Inner::Released) {
            Inner::Local(local) => {
                local.release();
                Ok(())
            }
            Inner::Lease(lease) => lease.release(&self.location).await,
            Inner::Released => Ok(()),
        }
    }

    /// Takes the lock file of the local warehouse directory `dir` (created if needed).
    pub(crate) async fn acquire_local(
        dir: &FsPath,
        location: &str,
        purpose: &str,
        wait: Duration,
    ) -> Result<WriterLock, WarehouseError> {
        std::fs::create_dir_all(dir).map_err(|source| WarehouseError::LockFile {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(LOCK_FILE);
        let (local, holder) = wait_for(location, wait, || {
            // A new holder description per attempt: `acquired_at` is when it succeeded.
            let me = WriterHolder::this_process(purpose);
            let result = LocalLock::try_acquire(&path, &me).map(|got| got.map(|l| (l, me)));
            std::future::ready(result)
        })
        .await?;
        Ok(WriterLock {
            location: location.to_string(),
            holder,
            inner: Inner::Local(local),
        })
    }

    /// Takes the lease object `path` on `store` (any store with conditional puts: S3, GCS,
    /// Azure, `InMemory`), and renews it in the background on the current tokio runtime.
    pub async fn acquire_on_store(
        store: Arc<dyn ObjectStore>,
        path: StorePath,
        location: &str,
        purpose: &str,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<WriterLock, WarehouseError> {
        if options.lease_ttl < Duration::from_millis(30) || options.renew_every.is_zero() {
            return Err(WarehouseError::Lease {
                location: location.to_string(),
                message: format!(
                    "a lease of {:?} renewed every {:?} is not usable",
                    options.lease_ttl, options.renew_every
                ),
            });
        }
        // Checked first: acquiring a lease that nobody could renew would be worse than
        // refusing.
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            WarehouseError::Internal("the writer lease needs a tokio runtime to renew it".into())
        })?;
        let me = WriterHolder::this_process(purpose);
        let ttl = options.lease_ttl;
        let state = wait_for(location, wait, || {
            try_lease_once(&store, &path, location, &me, ttl)
        })
        .await?;
        let holder = state.record.clone();
        let shared = Arc::new(LeaseShared {
            store,
            path,
            location: location.to_string(),
            ttl,
            state: Mutex::new(state),
        });
        let (stop, stopped) = watch::channel(false);
        let renewer = runtime.spawn(renew_loop(
            Arc::clone(&shared),
            options.renew_every,
            stopped,
        ));
        Ok(WriterLock {
            location: location.to_string(),
            holder,
            inner: Inner::Lease(LeaseLock {
                shared,
                stop,
                renewer: Some(renewer),
            }),
        })
    }

    /// Renews the lease once, now (tests play the renewal task with it).
    #[cfg(test)]
    async fn renew_now(&self) -> Result<(), WarehouseError> {
        match &self.inner {
            Inner::Lease(lease) => lease.shared.renew_once().await,
            _ => Ok(()),
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.inner, Inner::Released) {
            Inner::Local(local) => local.release(),
            Inner::Lease(lease) => lease.release_in_background(&self.location),
            Inner::Released => {}
        }
    }
}

/// Calls `attempt` until it acquires (`Ok(Ok(_))`) or `wait` has passed, pausing 100 ms
/// growing to 1 s between attempts; `Ok(Err(holder))` means busy, `Err` stops at once.
async fn wait_for<T, F, Fut>(
    location: &str,
    wait: Duration,
    mut attempt: F,
) -> Result<T, WarehouseError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, Option<WriterHolder>>, WarehouseError>>,
{
    let deadline = Instant::now() + wait;
    let mut backoff = FIRST_BACKOFF;
    let mut announced = false;
    loop {
        let holder = match attempt().await? {
            Ok(acquired) => return Ok(acquired),
            Err(holder) => holder,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(WarehouseError::Busy {
                location: location.to_string(),
                holder: holder.map(Box::new),
            });
        }
        if !announced {
            announced = true;
            match &holder {
                Some(h) => tracing::info!(
                    "warehouse {location} is busy ({h} writes to it); waiting up to {wait:?}"
                ),
                None => tracing::info!("warehouse {location} is busy; waiting up to {wait:?}"),
            }
        }
        tokio::time::sleep(backoff.min(deadline - now)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

// ---------------------------------------------------------------------------------------
// Local: an OS lock on a file.

#[derive(Debug)]
struct LocalLock {
    file: File,
    path: PathBuf,
}

impl LocalLock {
    /// One attempt: `Ok(Err(holder))` when another open file holds the lock (in this process
    /// or another; the holder as described in the file, if it could be read).
    fn try_acquire(
        path: &FsPath,
        me: &WriterHolder,
    ) -> Result<Result<LocalLock, Option<WriterHolder>>, WarehouseError> {
        let io_err = |source| WarehouseError::LockFile {
            path: path.display().to_string(),
            source,
        };
        // Never truncated on open: the file describes the current holder, which a refused
        // process reads to say who it is.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Err(read_holder(&file))),
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        // If this fails, dropping `file` closes it and so releases the lock.
        write_holder(&file, me).map_err(io_err)?;
        Ok(Ok(LocalLock {
            file,
            path: path.to_path_buf(),
        }))
    }

    /// The lock file must still be the one we locked: if it was removed (or replaced), a
    /// newcomer locks a new file and would write alongside us.
    fn check(&self) -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ours = self
                .file
                .metadata()
                .map_err(|e| format!("cannot inspect the lock file: {e}"))?;
            let same = std::fs::metadata(&self.path)
                .map(|now| now.dev() == ours.dev() && now.ino() == ours.ino())
                .unwrap_or(false);
            if !same {
                return Err(format!(
                    "its lock file {} was removed or replaced while held, so another process \
                     may be writing",
                    self.path.display()
                ));
            }
        }
        Ok(())
    }

    /// Empties the description (so a later refusal does not name us) and unlocks; closing
    /// the file would unlock anyway.
    fn release(self) {
        if let Err(e) = self.file.set_len(0) {
            tracing::debug!("clearing {}: {e}", self.path.display());
        }
        if let Err(e) = self.file.unlock() {
            tracing::debug!("unlocking {}: {e}", self.path.display());
        }
    }
}

/// The holder described in a lock file; None while it is empty (being written, or released
/// by a holder that has not unlocked yet) or unreadable.
fn read_holder(mut file: &File) -> Option<WriterHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(mut file: &File, holder: &WriterHolder) -> std::io::Result<()> {
    let mut json = serde_json::to_vec(holder)?;
    json.push(b'\n');
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&json)
}

// ---------------------------------------------------------------------------------------
// Object stores: a lease, written with conditional puts only.

#[derive(Debug)]
struct LeaseLock {
    shared: Arc<LeaseShared>,
    /// Tells the renewal task to stop (also when dropped).
    stop: watch::Sender<bool>,
    renewer: Option<JoinHandle<()>>,
}

/// What the holder and its renewal task share.
#[derive(Debug)]
struct LeaseShared {
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    location: String,
    ttl: Duration,
    state: Mutex<LeaseState>,
}

#[derive(Debug)]
struct LeaseState {
    /// The record of our last write.
    record: WriterHolder,
    /// The version of our last write: the precondition of the next one.
    version: UpdateVersion,
    /// Until when `still_held` passes (see [`trusted_for`]).
    valid_until: Instant,
    /// Set when a renewal found the lease taken over: why.
    lost: Option<String>,
}

impl LeaseState {
    fn new(record: WriterHolder, version: UpdateVersion, started: Instant, ttl: Duration) -> Self {
        LeaseState {
            record,
            version,
            valid_until: started + trusted_for(ttl),
            lost: None,
        }
    }
}

/// The lease as read from the store, with the version a takeover must match.
#[derive(Debug, Clone)]
struct Observed {
    record: WriterHolder,
    version: UpdateVersion,
}

/// A conditional put either wrote (our new version) or found its precondition false.
enum Put {
    Written(UpdateVersion),
    Conflict,
}

fn store_err(location: &str) -> impl Fn(object_store::Error) -> WarehouseError + '_ {
    move |source| match source {
        // Say what the store lacks rather than only "not implemented".
        object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. } => {
            WarehouseError::Lease {
                location: location.to_string(),
                message: format!(
                    "the store does not support conditional writes (create-if-absent and \
                     update-if-unchanged), which the writer lease needs: {source}"
                ),
            }
        }
        source => WarehouseError::LockStore {
            location: location.to_string(),
            source,
        },
    }
}

async fn read_lease(
    store: &Arc<dyn ObjectStore>,
    path: &StorePath,
    location: &str,
) -> Result<Option<Observed>, WarehouseError> {
    let got = match store.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(store_err(location)(e)),
    };
    let version = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let bytes = got.bytes().await.map_err(store_err(location))?;
    let record = serde_json::from_slice(&bytes).map_err(|e| WarehouseError::Lease {
        location: location.to_string(),
        message: format!(
            "{path} is not a vigie writer lease ({e}); if no vigie process writes to this \
             warehouse, delete it"
        ),
    })?;
    Ok(Some(Observed { record, version }))
}

async fn put_lease(
    store: &Arc<dyn ObjectStore>,
    path: &StorePath,
    location: &str,
    record: &WriterHolder,
    mode: PutMode,
) -> Result<Put, WarehouseError> {
    let json = serde_json::to_vec(record)
        .map_err(|e| WarehouseError::Internal(format!("writer lease as JSON: {e}")))?;
    match store
        .put_opts(path, PutPayload::from(json), PutOptions::from(mode))
        .await
    {
        Ok(written) => Ok(Put::Written(written.into())),
        // Create reports an existing object as AlreadyExists, some stores as Precondition.
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(Put::Conflict),
        Err(e) => Err(store_err(location)(e)),
    }
}

/// Takes over the lease `seen` (lapsed or released), conditionally on its version: of
/// several processes that read the same lease, only the first to write wins (None for the
/// others).
async fn take_over(
    store: &Arc<dyn ObjectStore>,
    path: &StorePath,
    location: &str,
    seen: &Observed,
    me: &WriterHolder,
    ttl: Duration,
) -> Result<Option<LeaseState>, WarehouseError> {
    let started = Instant::now();
    let record = me.lease_from(Utc::now(), ttl);
    let mode = PutMode::Update(seen.version.clone());
    match put_lease(store, path, location, &record, mode).await? {
        Put::Written(version) => {
            if !seen.record.released {
                tracing::warn!(
                    "took over the expired writer lease of {} on {location}",
                    seen.record
                );
            }
            Ok(Some(LeaseState::new(record, version, started, ttl)))
        }
        Put::Conflict => Ok(None),
    }
}

/// One attempt at the lease: `Ok(Err(holder))` while someone else holds it.
async fn try_lease_once(
    store: &Arc<dyn ObjectStore>,
    path: &StorePath,
    location: &str,
    me: &WriterHolder,
    ttl: Duration,
) -> Result<Result<LeaseState, Option<WriterHolder>>, WarehouseError> {
    let mut last_seen = None;
    for _ in 0..CONTENDED_ROUNDS {
        let started = Instant::now();
        let record = me.lease_from(Utc::now(), ttl);
        if let Put::Written(version) =
            put_lease(store, path, location, &record, PutMode::Create).await?
        {
            return Ok(Ok(LeaseState::new(record, version, started, ttl)));
        }
        // Gone between our create and our read (cannot happen with vigie's own releases,
        // which do not delete, but someone may clean up by hand): create again.
        let Some(seen) = read_lease(store, path, location).await? else {
            continue;
        };
        if !seen.record.lapsed(Utc::now()) {
            return Ok(Err(Some(seen.record)));
        }
        if let Some(state) = take_over(store, path, location, &seen, me, ttl).await? {
            return Ok(Ok(state));
        }
        // Another process wrote first: the next round reads and reports its lease.
        last_seen = Some(seen.record);
    }
    Ok(Err(last_seen))
}

/// The state lock only guards plain data, so a panic elsewhere leaves it consistent.
fn locked(state: &Mutex<LeaseState>) -> MutexGuard<'_, LeaseState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LeaseShared {
    fn check(&self) -> Result<(), String> {
        let state = locked(&self.state);
        if let Some(reason) = &state.lost {
            return Err(reason.clone());
        }
        if Instant::now() >= state.valid_until {
            return Err(format!(
                "its lease has not been renewed for {:?} of its {:?} (this process was paused \
                 or the store was unreachable), so another process may take it over",
                trusted_for(self.ttl),
                self.ttl
            ));
        }
        Ok(())
    }

    /// Renews the lease, conditionally on our last write. A failed precondition marks the
    /// lock lost for good. (Renewing after `valid_until` passed is fine if it succeeds: the
    /// unchanged version proves nobody took the lease in between; every record is unique, by
    /// its id and timestamps, so even content-hash e-tags cannot repeat.)
    async fn renew_once(&self) -> Result<(), WarehouseError> {
        let (record, version) = {
            let state = locked(&self.state);
            if let Some(reason) = &state.lost {
                return Err(WarehouseError::LockLost {
                    location: self.location.clone(),
                    reason: reason.clone(),
                });
            }
            (state.record.clone(), state.version.clone())
        };
        let started = Instant::now();
        let renewed = WriterHolder {
            expires_at: Some(Utc::now() + chrono_ttl(self.ttl)),
            ..record
        };
        let mode = PutMode::Update(version);
        match put_lease(&self.store, &self.path, &self.location, &renewed, mode).await? {
            Put::Written(version) => {
                let mut state = locked(&self.state);
                state.record = renewed;
                state.version = version;
                state.valid_until = started + trusted_for(self.ttl);
                Ok(())
            }
            Put::Conflict => {
                let reason = match read_lease(&self.store, &self.path, &self.location).await {
                    Ok(Some(now)) if now.record.id != renewed.id => {
                        format!("its lease expired and was taken over by {}", now.record)
                    }
                    _ => "its lease was changed by another process".to_string(),
                };
                locked(&self.state).lost = Some(reason.clone());
                Err(WarehouseError::LockLost {
                    location: self.location.clone(),
                    reason,
                })
            }
        }
    }
}

async fn renew_loop(shared: Arc<LeaseShared>, every: Duration, mut stop: watch::Receiver<bool>) {
    // After a failed request, retry sooner than the usual period, while the lease still has
    // time left.
    let retry = (every / 4).max(Duration::from_millis(10));
    let mut delay = every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // A stop request, or the lock gone: either way, stop renewing.
            _ = stop.changed() => return,
        }
        match shared.renew_once().await {
            Ok(()) => delay = every,
            Err(e @ WarehouseError::LockLost { .. }) => {
                tracing::error!("{e}");
                return;
            }
            Err(e) => {
                tracing::warn!("renewing the writer lease failed (retrying): {e}");
                delay = retry;
            }
        }
    }
}

impl LeaseLock {
    /// Stops the renewals (waiting for one under way, so that we know our last version),
    /// then marks the lease released if it is still ours.
    async fn release(mut self, location: &str) -> Result<(), WarehouseError> {
        let _ = self.stop.send(true);
        if let Some(renewer) = self.renewer.take() {
            // A panicked or cancelled renewer leaves the state as it was: release anyway.
            let _ = renewer.await;
        }
        let (record, version) = {
            let state = locked(&self.shared.state);
            if state.lost.is_some() {
                // Someone else holds it now: theirs to keep.
                return Ok(());
            }
            (state.record.clone(), state.version.clone())
        };
        let released = WriterHolder {
            expires_at: Some(Utc::now()),
            released: true,
            ..record
        };
        let shared = &self.shared;
        let mode = PutMode::Update(version);
        match put_lease(&shared.store, &shared.path, location, &released, mode).await? {
            Put::Written(_) => Ok(()),
            // Taken over after it lapsed: leave the new holder's lease alone.
            Put::Conflict => Ok(()),
        }
    }

    /// Drop without await: release on the current runtime if there is one; otherwise the
    /// lease expires by itself after its ttl.
    fn release_in_background(mut self, location: &str) {
        let _ = self.stop.send(true);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let location = location.to_string();
                runtime.spawn(async move {
                    if let Err(e) = self.release(&location).await {
                        tracing::warn!("releasing the writer lease (it will expire): {e}");
                    }
                });
            }
            Err(_) => {
                if let Some(renewer) = self.renewer.take() {
                    renewer.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    const SHORT: Duration = Duration::from_millis(300);

    fn memory() -> (Arc<dyn ObjectStore>, StorePath) {
        (
            Arc::new(InMemory::new()),
            StorePath::from("wh/_vigie_writer.lease"),
        )
    }

    async fn lease(
        store: &Arc<dyn ObjectStore>,
        path: &StorePath,
        purpose: &str,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<WriterLock, WarehouseError> {
        WriterLock::acquire_on_store(
            Arc::clone(store),
            path.clone(),
            "memory://wh/",
            purpose,
            wait,
            options,
        )
        .await
    }

    /// A holder that stops renewing, as a process paused (or dead) would.
    fn paused(ttl: Duration) -> LockOptions {
        LockOptions {
            lease_ttl: ttl,
            renew_every: Duration::from_secs(3600),
        }
    }

    fn busy_holder(result: Result<WriterLock, WarehouseError>) -> (WriterHolder, String) {
        match result {
            Err(e @ WarehouseError::Busy { .. }) => {
                let message = e.to_string();
                let WarehouseError::Busy { holder, .. } = e else {
                    unreachable!()
                };
                (*holder.expect("the holder is named"), message)
            }
            other => panic!("expected Busy, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn lease_is_exclusive_and_refusal_names_the_holder() {
        let (store, path) = memory();
        let options = LockOptions::default();
        let first = lease(&store, &path, "ingest", Duration::ZERO, &options)
            .await
            .expect("first writer");
        first.still_held().expect("held");

        let (holder, message) =
            busy_holder(lease(&store, &path, "compute", Duration::ZERO, &options).await);
        assert_eq!(holder.id, first.holder().id);
        assert_eq!(holder.purpose, "ingest");
        assert_eq!(holder.pid, std::process::id());
        assert!(message.contains("\"ingest\""), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains(&holder.host), "{message}");
        assert!(message.contains("expires at"), "{message}");
        assert!(message.contains("60 s after its last renewal"), "{message}");

        // The lease is JSON with the documented fields.
        let stored = store
            .get(&path)
            .await
            .expect("lease")
            .bytes()
            .await
            .expect("bytes");
        let json: serde_json::Value = serde_json::from_slice(&stored).expect("json");
        for field in ["id", "host", "pid", "purpose", "acquired_at", "expires_at"] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
        first.release().await.expect("release");
    }

    #[tokio::test]
    async fn a_waiting_writer_gets_the_lease_once_released() {
        let (store, path) = memory();
        let options = LockOptions::default();
        let first = lease(&store, &path, "ingest", Duration::ZERO, &options)
            .await
            .expect("first writer");
        let releaser = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            first.release().await
        });
        let started = Instant::now();
        let second = lease(&store, &path, "run", Duration::from_secs(5), &options)
            .await
            .expect("acquired after the release");
        assert!(started.elapsed() >= Duration::from_millis(200));
        releaser.await.expect("task").expect("release");
        second.still_held().expect("held");
        assert_eq!(second.holder().purpose, "run");
    }

    #[tokio::test]
    async fn a_dropped_lease_is_free_again() {
        let (store, path) = memory();
        let options = LockOptions::default();
        let first = lease(&store, &path, "ingest", Duration::ZERO, &options)
            .await
            .expect("first writer");
        drop(first);
        // Dropping releases from a task: give it a moment.
        lease(&store, &path, "run", Duration::from_secs(2), &options)
            .await
            .expect("free after drop");
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_old_holder_may_not_commit() {
        let (store, path) = memory();
        let old = lease(&store, &path, "ingest", Duration::ZERO, &paused(SHORT))
            .await
            .expect("first writer");
        old.still_held().expect("fresh lease");
        // Not lapsed yet: refused.
        busy_holder(lease(&store, &path, "run", Duration::ZERO, &paused(SHORT)).await);

        tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
        let new = lease(
            &store,
            &path,
            "run",
            Duration::ZERO,
            &LockOptions::default(),
        )
        .await
        .expect("takeover of the expired lease");
        new.still_held().expect("new holder");

        // The old holder trusts its lease no longer (it was not renewed in time) ...
        let err = old.still_held().expect_err("old holder must not commit");
        assert!(matches!(err, WarehouseError::LockLost { .. }), "{err}");
        // ... and its next renewal finds the lease taken over, and says by whom.
        let err = old.renew_now().await.expect_err("renewal must fail");
        assert!(err.to_string().contains("taken over by \"run\""), "{err}");
        let err = old.still_held().expect_err("lost for good");
        assert!(err.to_string().contains("taken over"), "{err}");

        // Releasing the lost lock leaves the new holder's lease alone.
        old.release().await.expect("release of a lost lease");
        new.still_held().expect("still the new holder");
        let (holder, _) =
            busy_holder(lease(&store, &path, "compute", Duration::ZERO, &paused(SHORT)).await);
        assert_eq!(holder.id, new.holder().id);
        new.renew_now().await.expect("the new holder renews");
    }

    #[tokio::test]
    async fn a_renewed_lease_outlives_its_ttl() {
        let (store, path) = memory();
        // Renewed every 200 ms, trusted for 400 ms: room for a loaded test machine.
        let ttl = Duration::from_millis(600);
        let holder = lease(
            &store,
            &path,
            "ingest",
            Duration::ZERO,
            &LockOptions::with_lease_ttl(ttl),
        )
        .await
        .expect("writer");
        tokio::time::sleep(ttl * 5 / 2).await;
        holder.still_held().expect("renewed in the background");
        busy_holder(lease(&store, &path, "run", Duration::ZERO, &paused(SHORT)).await);
        holder.release().await.expect("release");
    }

    #[tokio::test]
    async fn two_takeovers_of_one_expired_lease_exactly_one_wins() {
        let (store, path) = memory();
        let dead = WriterHolder::this_process("ingest").lease_from(
            Utc::now() - chrono::TimeDelta::seconds(120),
            DEFAULT_LEASE_TTL,
        );
        put_lease(&store, &path, "memory://wh/", &dead, PutMode::Create)
            .await
            .expect("stale lease");

        // Both takers read the same expired lease, then both write against its version.
        let a = WriterHolder::this_process("run");
        let b = WriterHolder::this_process("compute");
        let seen_a = read_lease(&store, &path, "m")
            .await
            .expect("read")
            .expect("lease");
        let seen_b = read_lease(&store, &path, "m")
            .await
            .expect("read")
            .expect("lease");
        assert_eq!(seen_a.version, seen_b.version);
        assert!(seen_a.record.lapsed(Utc::now()));
        let won_a = take_over(&store, &path, "m", &seen_a, &a, DEFAULT_LEASE_TTL)
            .await
            .expect("a");
        let won_b = take_over(&store, &path, "m", &seen_b, &b, DEFAULT_LEASE_TTL)
            .await
            .expect("b");
        assert!(won_a.is_some() && won_b.is_none());
        let now = read_lease(&store, &path, "m")
            .await
            .expect("read")
            .expect("lease");
        assert_eq!(now.record.id, a.id);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_on_an_expired_lease_exactly_one_wins() {
        let (store, path) = memory();
        let dead = WriterHolder::this_process("ingest").lease_from(
            Utc::now() - chrono::TimeDelta::seconds(120),
            DEFAULT_LEASE_TTL,
        );
        put_lease(&store, &path, "memory://wh/", &dead, PutMode::Create)
            .await
            .expect("stale lease");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, path) = (Arc::clone(&store), path.clone());
                tokio::spawn(async move {
                    let options = LockOptions::default();
                    lease(&store, &path, &format!("w{i}"), Duration::ZERO, &options).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.expect("task") {
                Ok(lock) => winners.push(lock),
                Err(WarehouseError::Busy { holder, .. }) => refused.push(holder),
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one winner");
        for holder in refused {
            assert_eq!(holder.expect("named").id, winners[0].holder().id);
        }
    }

    #[tokio::test]
    async fn a_store_without_conditional_updates_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ObjectStore> = Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("fs"),
        );
        let path = StorePath::from(LEASE_OBJECT);
        let options = paused(SHORT);
        let first = lease(&store, &path, "ingest", Duration::ZERO, &options)
            .await
            .expect("create works on local disk");
        // Renewing needs PutMode::Update, which LocalFileSystem lacks: hence the OS lock.
        let err = first.renew_now().await.expect_err("no conditional update");
        assert!(matches!(err, WarehouseError::Lease { .. }), "{err}");
        assert!(err.to_string().contains("conditional writes"), "{err}");
    }

    #[tokio::test]
    async fn a_local_warehouse_has_one_writer_per_lock_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("new").join("warehouse");
        let warehouse = Warehouse::open(root.to_str().expect("utf-8 path")).expect("open");
        let first = warehouse
            .lock_writer("ingest", Duration::ZERO)
            .await
            .expect("first writer");
        assert!(root.join(LOCK_FILE).is_file());
        first.still_held().expect("held");

        // A second open file description, in the same process, conflicts (flock semantics).
        let (holder, message) = busy_holder(warehouse.lock_writer("run", Duration::ZERO).await);
        assert_eq!(holder.id, first.holder().id);
        assert!(message.contains("\"ingest\""), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(
            message.contains("freed as soon as that process exits"),
            "{message}"
        );

        drop(first);
        let again = warehouse
            .lock_writer("run", Duration::ZERO)
            .await
            .expect("free after drop");
        again.release().await.expect("release");
        warehouse
            .lock_writer("compute", Duration::ZERO)
            .await
            .expect("free after release");
    }

    #[tokio::test]
    async fn a_local_writer_waits_for_the_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_str().expect("utf-8 path");
        let warehouse = Warehouse::open(path).expect("open");
        let first = warehouse
            .lock_writer("ingest", Duration::ZERO)
            .await
            .expect("first writer");
        let releaser = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            first.release().await
        });
        let started = Instant::now();
        let second = warehouse
            .lock_writer("run", Duration::from_secs(5))
            .await
            .expect("acquired after the release");
        assert!(started.elapsed() >= Duration::from_millis(200));
        releaser.await.expect("task").expect("release");
        second.still_held().expect("held");
    }

    #[tokio::test]
    async fn a_local_lock_whose_file_was_removed_is_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let warehouse = Warehouse::open(dir.path().to_str().expect("utf-8")).expect("open");
        let lock = warehouse
            .lock_writer("ingest", Duration::ZERO)
            .await
            .expect("writer");
        std::fs::remove_file(dir.path().join(LOCK_FILE)).expect("remove");
        let err = lock.still_held().expect_err("lost");
        assert!(err.to_string().contains("removed or replaced"), "{err}");
    }
}
